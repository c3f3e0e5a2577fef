/**
 * How long a cancelled rollout may take to end (issue 13: SIGTERM ends any
 * deploy within 5 s). A cancellation first lets targets in flight roll back and
 * run `after` as usual. Whatever is still going FORCE_AFTER_MS later is cut:
 * every target connection is closed (a stalled host cannot hold the rollout)
 * and cleanup hooks are stopped. GIVE_UP_AFTER_MS after the cancellation the
 * rollout stops waiting and reports the targets still in flight as failed:
 * each is left recoverable, as after a crash (its journal lets the next run
 * finish or undo the interrupted one; its lock's holder is gone or its lease
 * runs out).
 */
import type { Transport } from '../transport/transport.js';
import { fleetController } from '../cancelled.js';
import type { TargetReport } from '../report/types.js';
import type { RolloutEvent } from './events.js';

/** The bounded time cleanup steps (after, rollback) get even when the rollout was cancelled or timed out. */
const CLEANUP_MS = 120_000;
// 1.5 s left for the report and the exit: a big deploy's synchronous steps (its backup's JSON,
// sorting 500,000 paths) can each hold the timers a few hundred ms (giving up at 4 s, a SIGTERM
// in a 500,000-file commit ended the process at 4.9 s).
const FORCE_AFTER_MS = 2500;
const GIVE_UP_AFTER_MS = 3500;

export class HardStop {
  /** Aborted FORCE_AFTER_MS after the cancellation: close connections, stop cleanup hooks. */
  readonly force = fleetController();
  /** Resolves GIVE_UP_AFTER_MS after the cancellation; never without one. */
  readonly giveUp: Promise<'gave-up'>;
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly onCancel: () => void;

  constructor(private readonly cancel: AbortSignal | undefined) {
    let giveUp!: (v: 'gave-up') => void;
    this.giveUp = new Promise((resolve) => (giveUp = resolve));
    this.onCancel = () => {
      this.timers.push(setTimeout(() => this.force.abort(), FORCE_AFTER_MS));
      this.timers.push(setTimeout(() => giveUp('gave-up'), GIVE_UP_AFTER_MS));
    };
    if (cancel?.aborted) this.onCancel();
    else cancel?.addEventListener('abort', this.onCancel, { once: true });
  }

  dispose(): void {
    for (const t of this.timers) clearTimeout(t);
    this.cancel?.removeEventListener('abort', this.onCancel);
  }
}

/** `transport`, closed as soon as `force` aborts: its pending and later operations fail at once. */
export function closeOnForce<T extends Transport>(transport: T, force: AbortSignal | undefined): T {
  if (!force) return transport;
  const close = transport.close.bind(transport);
  const stopListening = closeOnAbort({ close }, force);
  // Closed the usual way: stop listening (one signal serves the whole fleet).
  transport.close = () => {
    stopListening();
    return close();
  };
  return transport;
}

/**
 * Close `transport` as soon as `signal` aborts (at once if it has). Returns what
 * stops listening: a connection handed on to other work must not close on it.
 */
export function closeOnAbort(
  transport: Pick<Transport, 'close'>,
  signal: AbortSignal | undefined,
): () => void {
  const onAbort = () => void transport.close().catch(() => undefined);
  if (signal?.aborted) onAbort();
  else signal?.addEventListener('abort', onAbort, { once: true });
  return () => signal?.removeEventListener('abort', onAbort);
}

/** The signal cleanup steps (rollback, `after`) run under: their own time limit, or a forced stop. */
export function cleanupSignal(force: AbortSignal | undefined): AbortSignal {
  const limit = AbortSignal.timeout(CLEANUP_MS);
  return force ? AbortSignal.any([limit, force]) : limit;
}

/** The step each target in flight is in (from the rollout's events): target name → step. */
export class InFlight {
  readonly steps = new Map<string, string>();

  /** An event handler that tracks, then passes the event on to `next`. */
  tee(next?: (e: RolloutEvent) => void): (e: RolloutEvent) => void {
    return (e) => {
      this.track(e);
      next?.(e);
    };
  }

  track(e: RolloutEvent): void {
    if (e.type === 'target-start') this.steps.set(e.target, 'start');
    else if (e.type === 'step-start' && this.steps.has(e.target)) this.steps.set(e.target, e.step);
    else if (e.type === 'target-end') this.steps.delete(e.target.name);
  }

  /** Targets still in flight when the rollout gave up waiting: failed, saying where and why. */
  markAbandoned(reports: readonly TargetReport[]): void {
    for (const r of reports) {
      const step = this.steps.get(r.name);
      if (step === undefined) continue;
      r.status = 'failed';
      r.error = `cancelled: still in its ${step} step ${GIVE_UP_AFTER_MS / 1000} s after the signal, so left as a crash would leave it — the next run on this target finishes or undoes the interrupted one`;
    }
  }
}
