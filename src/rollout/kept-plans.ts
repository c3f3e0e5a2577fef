import type { ResolvedConfig } from '../config/types.js';
import type { TargetState } from '../apply/state.js';
import type { TargetPlan } from '../plan/types.js';
import type { Transport } from '../transport/transport.js';

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
 * A target folder preflight found missing keeps its plan too ("everything
 * added", nothing observed: at 500,000 files a second such plan costs seconds
 * and a few hundred MiB of garbage). The deploy's session creates the folder;
 * the plan is its when the folder holds nothing but the state folder then,
 * so a look would find what preflight found: nothing.
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

  /**
   * Keep preflight's `plan` of target `name`, made from `state` with no journal on the target;
   * `missing`: made on a target folder that does not exist (no state either).
   */
  offer(name: string, plan: TargetPlan, state: TargetState | null, missing = false): void {
    if (this.wanted.has(name)) this.kept.set(name, { plan, mark: missing ? MISSING : stateMark(state) });
  }

  /**
   * Preflight's plan for `name` (once), when the deploy's locked session found
   * what preflight did: nothing recovered, no journal, the same state (and for a
   * folder preflight found missing, no state and nothing but the state folder).
   */
  async take(name: string, session: LockedSession): Promise<TargetPlan | undefined> {
    const kept = this.kept.get(name);
    this.kept.delete(name);
    if (kept === undefined || session.recovered !== null || session.pendingRecovery) return undefined;
    if (kept.mark === MISSING)
      return session.state === null && (await holdsOnly(session.transport, session.layout.dir))
        ? kept.plan
        : undefined;
    return kept.mark === stateMark(session.state) ? kept.plan : undefined;
  }
}

/** What `take` asks of the deploy's session, once it holds the lock. */
export interface LockedSession {
  recovered: string | null;
  pendingRecovery: boolean;
  state: TargetState | null;
  transport: Pick<Transport, 'readdir'>;
  layout: { dir: string };
}

/** The mark of a plan made on a missing folder (never a state's: those are JSON or `none`). */
const MISSING = 'missing';

/** Whether the target holds nothing but the state folder `dir` (and the folders leading to it). */
async function holdsOnly(t: Pick<Transport, 'readdir'>, dir: string): Promise<boolean> {
  const parts = dir.split('/');
  for (let i = 0; i < parts.length; i++) {
    const names = await t.readdir(parts.slice(0, i).join('/'));
    if (names?.length !== 1 || names[0] !== parts[i]) return false;
  }
  return true;
}

/**
 * The state as recorded, for "is it the same one": every field but the parsed
 * manifest, whose file the state names with its size and SHA-256.
 */
function stateMark(state: TargetState | null): string {
  if (state === null) return 'none';
  return JSON.stringify({ ...state, manifest: state.manifest === null ? null : 'named' });
}
