/**
 * A state folder's mkdir that the operations inside it need not wait for where the host does
 * the calls in order (Transport.inOrder: SSH's file helper, one process reading one pipe): they
 * are called right behind it, in the same round trip, instead of one round trip later. Elsewhere
 * (a local folder, SFTP) they wait for its answer as before. Either way the mkdir's failure is
 * the one told: the writes behind it fail too, for want of their folder.
 */
import type { Transport } from '../transport/transport.js';

export interface InOrder {
  /** Resolves once the operations may be called: the mkdir's record queued, or the folder made. */
  readonly queued: Promise<void>;
  /** The mkdir's own outcome. */
  readonly done: Promise<void>;
  /** `work`'s outcome once both are settled, the mkdir's failure first. */
  before<T>(work: Promise<T>): Promise<T>;
}

export function inOrderWith(t: Transport, made: Promise<unknown>): InOrder {
  const done = made.then(() => undefined);
  // Settled only later (before), if at all: never an unhandled rejection meanwhile.
  done.catch(() => undefined);
  // The record is queued within the microtasks its call started: a turn of the loop later, it is
  // in the outbox ahead of anything called from here on (records leave in the order queued).
  const queued = t.inOrder?.() === true ? new Promise<void>((resolve) => setImmediate(resolve)) : done;
  return {
    queued,
    done,
    async before<T>(work: Promise<T>): Promise<T> {
      const [m, w] = await Promise.allSettled([made, work]);
      if (m.status === 'rejected') throw m.reason;
      if (w.status === 'rejected') throw w.reason;
      return w.value;
    },
  };
}
