/**
 * How a rollout stops and what it says about it: one signal for the caller's
 * cancellation and the rollout timeout, why targets never started, and the
 * rollout's final status.
 */
import type { RolloutStatus, TargetReport } from '../report/types.js';
import { fleetController } from '../cancelled.js';

/** One signal for everything: the caller's cancellation, or the rollout timeout. */
export class RolloutStop {
  readonly controller = fleetController();
  cancelled = false;
  timedOut = false;
  private readonly timer: NodeJS.Timeout;
  private readonly onAbort = () => {
    this.cancelled = true;
    this.controller.abort();
  };

  constructor(
    private readonly signal: AbortSignal | undefined,
    timeoutMs: number,
    onTimeout: () => void,
  ) {
    if (signal?.aborted) this.onAbort();
    signal?.addEventListener('abort', this.onAbort, { once: true });
    this.timer = setTimeout(() => {
      this.timedOut = true;
      onTimeout();
      this.controller.abort();
    }, timeoutMs);
    this.timer.unref();
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.signal?.removeEventListener('abort', this.onAbort);
  }
}

/** Why a target that never ran was skipped. */
export function explainNotStarted(targets: TargetReport[], stop: RolloutStop, stopped: string | null): void {
  for (const t of targets) {
    if (t.status === 'skipped' && t.steps.length === 0) {
      t.error ??= stop.cancelled
        ? 'cancelled before it started'
        : stop.timedOut
          ? 'rollout timed out before it started'
          : stopped !== null
            ? `not started: ${stopped}`
            : 'not started: max-failures reached';
    }
  }
}

/** A target that counts as a failure of the rollout (a rolled-back target is what `rollback` is for). */
export function isFailure(status: TargetReport['status'], command: string): boolean {
  return (
    status === 'failed' ||
    status === 'rollback-unhealthy' ||
    (status === 'rolled-back' && command !== 'rollback')
  );
}

export function rolloutStatus(
  command: string,
  targets: TargetReport[],
  failed: number,
  stop: RolloutStop,
  /** A refusal, preflight, a failed rollout/wave hook or bake stopped the rollout. */
  controlsFailed: boolean,
): RolloutStatus {
  if (stop.cancelled) return 'cancelled';
  const anyFailed = targets.some((t) => t.status === 'failed' || t.status === 'rollback-unhealthy');
  if (command === 'plan') return anyFailed ? 'failed' : 'planned';
  return failed > 0 || stop.timedOut || controlsFailed || anyFailed ? 'failed' : 'succeeded';
}
