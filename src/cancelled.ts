/**
 * Cancellation checks for long phases (issue 13: SIGTERM ends any deploy within
 * 5 s). Work that never awaits a transport (planning 500,000 paths, staging from
 * git) asks the signal itself between steps, so a cancelled run stops in its
 * current step instead of finishing it.
 */
import { setMaxListeners } from 'node:events';
import { DiffshipError } from './errors.js';

/** The error a phase stops with when the run was cancelled (SIGINT/SIGTERM, the rollout timeout). */
export function cancelledError(what: string): DiffshipError {
  return new DiffshipError('E_CANCELLED', `cancelled during ${what}`);
}

/** Throw E_CANCELLED when `signal` has aborted. */
export function checkCancelled(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) throw cancelledError(what);
}

/**
 * Let a signal that arrived during synchronous work reach its handler, then check: a
 * chain of settled promises never returns to the event loop, where SIGTERM is read.
 * Two turns of setImmediate pass the loop's poll phase once.
 */
export async function cancelPoint(signal: AbortSignal | undefined, what: string): Promise<void> {
  if (!signal) return;
  await new Promise((resolve) => setImmediate(resolve));
  await new Promise((resolve) => setImmediate(resolve));
  checkCancelled(signal, what);
}

/**
 * `promise`'s value, or `undefined` as soon as `signal` aborts (the promise is left to
 * settle unwatched: its failure is not unhandled).
 */
export async function unlessCancelled<T>(
  promise: Promise<T>,
  signal: AbortSignal | undefined,
): Promise<T | undefined> {
  promise.catch(() => undefined);
  if (!signal) return promise;
  if (signal.aborted) return undefined;
  let onAbort!: () => void;
  const aborted = new Promise<undefined>((resolve) => (onAbort = () => resolve(undefined)));
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    return await Promise.race([promise, aborted]);
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

/**
 * A controller whose signal every target in flight listens to (up to max-parallel, each
 * with a few steps): many listeners are the design, not a leak, so Node's warning at 11
 * is turned off for this signal only.
 */
export function fleetController(): AbortController {
  const controller = new AbortController();
  setMaxListeners(0, controller.signal);
  return controller;
}

/**
 * A library caller's own signal, followed by one listener: the fleet's many listeners go
 * on this copy (fleetController), so the caller's signal never reaches Node's warning
 * at 11 listeners, however wide max-parallel is. undefined stays undefined.
 */
export function followCaller(signal: AbortSignal | undefined): {
  signal: AbortSignal | undefined;
  dispose(): void;
} {
  if (!signal) return { signal, dispose: () => undefined };
  const controller = fleetController();
  const onAbort = () => controller.abort(signal.reason);
  if (signal.aborted) onAbort();
  else signal.addEventListener('abort', onAbort, { once: true });
  return { signal: controller.signal, dispose: () => signal.removeEventListener('abort', onAbort) };
}
