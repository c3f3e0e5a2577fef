/**
 * A load balancer diffship drains targets at (docs/balancer.md). One instance
 * per rollout, shared by its targets: edits of the balancer's configuration
 * run one at a time; waits for in-flight requests run side by side.
 */
import { DiffshipError } from '../errors.js';
import { sleep } from '../rollout/hooks.js';

export interface ServerState {
  name: string;
  /** Takes new requests now. */
  inService: boolean;
  /** A backup server (nginx `backup`): not counted as in service. */
  backup?: boolean;
}

export interface Balancer {
  readonly description: string;
  /** The servers of the upstream/backend as the balancer has them now. */
  servers(signal?: AbortSignal): Promise<ServerState[]>;
  /** Take `server` out of service and wait until it has nothing in flight (or the drain timeout). */
  drain(server: string, signal: AbortSignal): Promise<string>;
  /** Put `server` back in service. */
  restore(server: string, signal: AbortSignal): Promise<string>;
  close(): Promise<void>;
}

/** Runs functions one after another (edits of one balancer's configuration). */
export class Serial {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.tail.then(fn, fn);
    this.tail = next.catch(() => undefined);
    return next;
  }
}

/**
 * Poll `count` until it reads 0 twice in a row (a connection opened between
 * two reads is seen by the second), or `timeoutMs` passes. Returns a line for
 * the step's detail. Throws when cancelled.
 */
export async function waitUntilIdle(
  count: () => Promise<number>,
  what: string,
  options: { timeoutMs: number; intervalMs: number; signal: AbortSignal },
): Promise<string> {
  const started = performance.now();
  let zeros = 0;
  let last = 0;
  for (;;) {
    last = await count();
    zeros = last === 0 ? zeros + 1 : 0;
    const waited = Math.round(performance.now() - started);
    if (zeros >= 2) return `drained after ${waited} ms (no ${what} in flight)`;
    if (waited >= options.timeoutMs) {
      return `drain timeout after ${waited} ms: ${last} ${what} still in flight; going on`;
    }
    if (!(await sleep(options.intervalMs, options.signal))) throw cancelled();
  }
}

export function cancelled(): DiffshipError {
  return new DiffshipError('E_CANCELLED', 'cancelled while draining');
}
