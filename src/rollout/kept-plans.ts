import type { ResolvedConfig } from '../config/types.js';
import type { TargetState } from '../apply/state.js';
import type { TargetPlan } from '../plan/types.js';
import type { Transport } from '../transport/transport.js';
import { recheckPaths, snapshotPlan, stillAsPlanned, type PlanSnapshot } from './plan-recheck.js';
import { parentsToLook } from '../apply/safe-path.js';

/**
 * Plans that preflight made, handed on to the deploy of the same target, so
 * that a target is observed once per rollout, not twice: an
 * authoritative plan walks the whole target and lstats every file of the
 * release, and in a fleet of small updates the second plan is a good part of
 * each target's own work (issue 13).
 *
 * Preflight holds no lock, so the deploy takes one first and then checks that
 * diffship changed nothing in between: no journal then or now (nothing
 * recovered), and the very state preflight planned from (any deploy, rollback
 * or unlock-and-deploy by another run writes a new state). Otherwise it plans
 * again.
 *
 * The first wave's targets that start at once (up to max-parallel) keep their
 * plans as they are: a hand edit in the moment between is not seen, as one
 * between a deploy's plan and its apply is not (the files it touches are
 * backed up as they are, and the manifest keeps their old stats, so the next
 * deploy sees the drift). Every other target waits for others' hooks, health
 * checks and waves, so a hand edit in between is likelier: a local target's
 * additive plan is kept with the exact lstats of the paths it looked at, and
 * handed on only when the locked target still shows the very same
 * (plan-recheck.ts). Every other plan is made again by the deploy.
 *
 * A target folder preflight found missing keeps its plan too, among the
 * first ones ("everything added", nothing observed: at 500,000 files a second
 * such plan costs seconds and a few hundred MiB of garbage). The deploy's
 * session creates the folder; the plan is its when the folder holds nothing
 * but the state folder then, so a look would find what preflight found.
 *
 * When a rollout hook (`before-rollout`, `before-wave`) runs in between and
 * might change the targets, the first ones are rechecked too. A plan is
 * dropped when taken; one nobody takes (a rollout stopped early) goes with
 * the rollout.
 */
export class KeptPlans {
  private readonly kept = new Map<string, { plan: TargetPlan; mark: string; snapshot?: PlanSnapshot }>();
  /** Paths held in rechecked plans not yet taken: a bound on the memory a big fleet keeps. */
  private heldPaths = 0;

  constructor(
    private readonly wanted: ReadonlySet<string>,
    private readonly rechecked: ReadonlySet<string> = new Set(),
  ) {}

  /**
   * The first wave's targets that start at once keep their plans as they are, unless a
   * rollout hook runs before them; every other target only with a recheck.
   */
  static forRollout(
    waves: readonly (readonly { name: string }[])[],
    config: Pick<ResolvedConfig, 'maxParallel' | 'rolloutHooks'>,
  ): KeptPlans {
    const hooks = config.rolloutHooks;
    const names = waves.flat().map((t) => t.name);
    const atOnce =
      hooks?.beforeRollout || hooks?.beforeWave ? 0 : Math.min(config.maxParallel, waves[0]?.length ?? 0);
    return new KeptPlans(new Set(names.slice(0, atOnce)), new Set(names.slice(atOnce)));
  }

  /**
   * Keep preflight's `plan` of target `name`, made from `state` with no journal on the target,
   * the plan started at `planStartMs` (Date.now()) on `transport`, which still stands;
   * `missing`: made on a target folder that does not exist (no state either).
   */
  async offer(
    name: string,
    plan: TargetPlan,
    state: TargetState | null,
    transport?: Transport,
    planStartMs = 0,
    missing = false,
  ): Promise<void> {
    if (this.wanted.has(name)) {
      this.kept.set(name, { plan, mark: missing ? MISSING : stateMark(state) });
      return;
    }
    if (missing || !this.rechecked.has(name) || transport?.kind !== 'local') return;
    const paths = recheckPaths(plan);
    if (paths === null || this.heldPaths + paths.length > HELD_PATHS_MAX) return;
    // A look that fails vouches for nothing: the deploy plans again (and meets the error itself).
    const snapshot = await snapshotPlan(transport, paths, planStartMs).catch(() => null);
    if (snapshot === null) return;
    this.heldPaths += paths.length;
    this.kept.set(name, { plan, mark: stateMark(state), snapshot });
  }

  /**
   * The folders the deploy of `name` will look at before it writes (its parents' check), when a
   * plan is kept for it: the session asks for them behind its lock, in the same round trip. Only
   * a hint: whether the plan is still the deploy's is decided by `take`.
   */
  lookAhead(name: string): string[] {
    const kept = this.kept.get(name);
    const plan = kept?.plan;
    // A plan made on a missing folder: `take` lists the target's root ('') behind the lock.
    const root = kept?.mark === MISSING ? [''] : [];
    if (!plan || plan.writes.length + plan.deletes.length > LOOK_AHEAD_PATHS) return root;
    return [
      ...root,
      ...(parentsToLook([...plan.writes.map((w) => w.path), ...plan.deletes.map((d) => d.path)]) ?? []),
    ];
  }

  /**
   * Preflight's plan for `name` (once), when the deploy's locked session found
   * what preflight did: nothing recovered, no journal, the same state (for a
   * folder preflight found missing, no state and nothing but the state folder),
   * and (for a rechecked plan) the same stats on every path the plan looked at.
   */
  async take(name: string, session: LockedSession): Promise<TargetPlan | undefined> {
    const kept = this.kept.get(name);
    this.kept.delete(name);
    if (kept === undefined) return undefined;
    if (kept.snapshot) this.heldPaths -= kept.snapshot.stats.size;
    if (session.recovered !== null || session.pendingRecovery) return undefined;
    if (kept.mark === MISSING)
      return session.state === null && session.transport && session.layout
        ? (await holdsOnly(session.transport, session.layout.dir).catch(() => false))
          ? kept.plan
          : undefined
        : undefined;
    if (kept.mark !== stateMark(session.state)) return undefined;
    if (!kept.snapshot) return kept.plan;
    const same =
      session.transport && (await stillAsPlanned(session.transport, kept.snapshot).catch(() => false));
    if (!same) return undefined;
    return kept.plan;
  }
}

/** What `take` asks of the deploy's session, once it holds the lock. */
export interface LockedSession {
  recovered: string | null;
  pendingRecovery: boolean;
  state: TargetState | null;
  transport?: Transport;
  layout?: { dir: string };
}

/** Plans bigger than this look at their folders after the lock, as before (a first deploy's thousands). */
const LOOK_AHEAD_PATHS = 4096;

/** Paths held in rechecked plans at once (their stats and the plans themselves stay in memory). */
const HELD_PATHS_MAX = 200_000;

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
