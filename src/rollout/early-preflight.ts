/**
 * Preflight started while the release checks still run (issue 13). Listing a
 * whole release to check its selection and its symlinks is a git process over
 * every file; preflight's plans only read the targets (an authoritative plan
 * walks the whole target). Nothing is touched by either, so they overlap:
 * git's listing on one core, the walk on the other.
 *
 * Nothing preflight found is acted on, or reported, before the checks passed:
 * a failed check stops preflight, waits for it (no read left in flight), and
 * the rollout fails with the check's own error, as before. A plan preflight
 * made is handed on to a deploy only under that deploy's lock, and only when
 * diffship changed nothing on the target since (kept-plans.ts): a deploy that
 * raced the walk wrote a new state, so the target is planned again.
 *
 * Only when the waves need no look at the targets first (no `min-healthy`
 * health gate, no balancer to check them against): those run after the
 * checks, and preflight after them, as before.
 */
import type { ResolvedConfig } from '../config/types.js';
import { preflight, type PreflightContext, type PreflightFailure } from './preflight.js';
import type { TargetConfig } from '../config/types.js';
import { fleetController } from '../cancelled.js';

export class EarlyPreflight {
  private readonly controller = fleetController();
  private readonly detach: () => void;
  /** The failing targets by name, once preflight ended (never rejects: preflight catches per target). */
  readonly failures: Promise<Map<string, PreflightFailure>>;

  private constructor(
    targets: readonly TargetConfig[],
    ctx: Omit<PreflightContext, 'signal'>,
    signal?: AbortSignal,
  ) {
    this.detach = this.follow(signal);
    this.failures = preflight(targets, { ...ctx, signal: this.controller.signal });
  }

  /** Whether a rollout of `command` with `config` may preflight before its release checks end. */
  static wanted(config: ResolvedConfig, command: string): boolean {
    return command === 'deploy' && config.preflight !== false && !config.minHealthy && !config.balancer;
  }

  static start(
    targets: readonly TargetConfig[],
    ctx: Omit<PreflightContext, 'signal'>,
    signal?: AbortSignal,
  ): EarlyPreflight {
    return new EarlyPreflight(targets, ctx, signal);
  }

  /** Stop when `signal` aborts (the caller's cancellation, later the rollout's own stop). */
  follow(signal: AbortSignal | undefined): () => void {
    if (!signal) return () => {};
    const abort = () => this.controller.abort(signal.reason);
    if (signal.aborted) abort();
    signal.addEventListener('abort', abort, { once: true });
    return () => signal.removeEventListener('abort', abort);
  }

  /** The release checks failed: stop preflight and wait until it has let go of every target. */
  async discard(): Promise<void> {
    this.controller.abort(new Error('the release checks failed'));
    await this.failures;
    this.detach();
  }

  /** Preflight's outcome, for the wave loop; a cancellation since is the rollout's, not a finding. */
  async outcome(): Promise<Map<string, PreflightFailure>> {
    const failures = await this.failures;
    this.detach();
    return failures;
  }
}
