import type { ResolvedConfig } from '../config/types.js';
import type { TargetState } from '../apply/state.js';
import type { TargetPlan } from '../plan/types.js';

/**
 * Plans that preflight made, handed on to the deploy of the same target, so
 * that a target of the first wave is observed once per rollout, not twice: an
 * authoritative plan walks the whole target and lstats every file of the
 * release (issue 13).
 *
 * Preflight holds no lock, so the deploy takes one first and then checks that
 * diffship changed nothing in between: no journal then or now (nothing
 * recovered), and the very state preflight planned from (any deploy, rollback
 * or unlock-and-deploy by another run writes a new state). Otherwise it plans
 * again. A hand edit in between is not seen, as one between a deploy's plan
 * and its apply is not: the files it touches are backed up as they are, and
 * the manifest keeps their old stats, so the next deploy sees the drift.
 *
 * Only the first wave's targets that start at once (up to max-parallel) keep
 * theirs, and none when a rollout hook (`before-rollout`, `before-wave`) runs
 * in between and might change the targets. A plan is dropped when taken;
 * one nobody takes (a rollout stopped early) goes with the rollout.
 */
export class KeptPlans {
  private readonly kept = new Map<string, { plan: TargetPlan; mark: string }>();

  constructor(private readonly wanted: ReadonlySet<string>) {}

  /** The first wave's targets that start at once, unless a rollout hook runs before them. */
  static firstWave(
    waves: readonly (readonly { name: string }[])[],
    config: Pick<ResolvedConfig, 'maxParallel' | 'rolloutHooks'>,
  ): KeptPlans {
    const hooks = config.rolloutHooks;
    if (hooks?.beforeRollout || hooks?.beforeWave) return new KeptPlans(new Set());
    return new KeptPlans(new Set((waves[0] ?? []).slice(0, config.maxParallel).map((t) => t.name)));
  }

  /** Keep preflight's `plan` of target `name`, made from `state` with no journal on the target. */
  offer(name: string, plan: TargetPlan, state: TargetState | null): void {
    if (this.wanted.has(name)) this.kept.set(name, { plan, mark: stateMark(state) });
  }

  /**
   * Preflight's plan for `name` (once), when the deploy's locked session found
   * what preflight did: nothing recovered, no journal, the same state.
   */
  take(
    name: string,
    session: { recovered: string | null; pendingRecovery: boolean; state: TargetState | null },
  ): TargetPlan | undefined {
    const kept = this.kept.get(name);
    this.kept.delete(name);
    if (kept === undefined || session.recovered !== null || session.pendingRecovery) return undefined;
    return kept.mark === stateMark(session.state) ? kept.plan : undefined;
  }
}

/**
 * The state as recorded, for "is it the same one": every field but the parsed
 * manifest, whose file the state names with its size and SHA-256.
 */
function stateMark(state: TargetState | null): string {
  if (state === null) return 'none';
  return JSON.stringify({ ...state, manifest: state.manifest === null ? null : 'named' });
}
