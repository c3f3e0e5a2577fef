/**
 * The planner: change set × what the target holds × mode → operations.
 * Pure, so every rule of SPEC §3 (modes, protect, drift, kept, max-deletes) is
 * unit-tested without a filesystem; the apply engine only executes the result.
 */
import { Minimatch } from 'minimatch';
import type { DiffResult } from '../diff/types.js';
import { SUBMODULE_MODE } from '../diff/types.js';
import type { DriftScope, Mode, OnDrift } from '../config/types.js';
import { driftOutsideChanges, type ExpectedFile } from './drift.js';
import { sortByPath, sortPaths } from '../byte-order.js';
import { ABSENT, addWrites, inStateDir, type PlanContext, type ReleaseFile } from './context.js';
import { changedPaths, planChanges } from './change-ops.js';
import { planStraysAndRepairs } from './authoritative.js';
import { applyDriftPolicy } from './drift-policy.js';
import { rejectFoldersInFileSlots } from './folder-slots.js';
import { withStrays } from './stray-deletes.js';
import type { DeleteOp, KeptFile, Observed, TargetPlan, WriteOp } from './types.js';

export type { ReleaseFile } from './context.js';

export interface PlanInput {
  /** diff(recorded release → to), already filtered by source/include/exclude. */
  diff: DiffResult;
  mode: Mode;
  protect: readonly string[];
  onDrift: OnDrift;
  maxDeletes?: number;
  /** The state folder, relative to the target root: never touched by the plan. */
  stateDir: string;
  /** Files kept by earlier additive deploys (from the target state). */
  kept: readonly KeptFile[];
  /** What the target holds at every path of `pathsToObserve`. Missing keys mean "absent". */
  observed: ReadonlyMap<string, Observed>;
  /** Authoritative mode: every file of the `to` release (after filters). */
  release?: ReadonlyMap<string, ReleaseFile>;
  /** Default `changes`: drift is checked on the change set only. */
  driftScope?: DriftScope;
  /** `drift-scope: all`: every file of the recorded release (observed in `observed`). */
  recordedFiles?: ReadonlyMap<string, ExpectedFile>;
}

/**
 * Which paths the planner needs observed, one at a time: counting them builds no array (a
 * first deploy of 500,000 files counts before it lists). Authoritative mode observes the whole
 * folder instead.
 */
function* eachPathToObserve(diff: DiffResult): Generator<string> {
  for (const c of diff.changes) {
    if (c.status !== 'deleted' && c.mode !== SUBMODULE_MODE) yield c.path;
    if (c.status === 'deleted' || c.status === 'renamed') yield c.status === 'renamed' ? c.oldPath : c.path;
  }
}

/** How many paths `pathsToObserve` lists (without listing them). */
export function countPathsToObserve(diff: DiffResult): number {
  let n = 0;
  for (const _ of eachPathToObserve(diff)) n++;
  return n;
}

/** `eachPathToObserve`, listed. */
export function pathsToObserve(diff: DiffResult): string[] {
  return [...eachPathToObserve(diff)];
}

/**
 * Plan one target.
 *
 * @example
 * const plan = planTarget({ diff, mode: 'additive', protect: [], onDrift: 'fail',
 *   stateDir: '.diffship', kept: [], observed: new Map() });
 */
export function planTarget(input: PlanInput): TargetPlan {
  const { diff, mode, stateDir } = input;
  const recorded = diff.from;
  // Compiled once: a plan may ask about 300,000 strays.
  const globs = input.protect.map((g) => new Minimatch(g, { dot: true }));
  const isProtected = (p: string) => globs.some((g) => g.match(p));
  const ctx: PlanContext = {
    recorded,
    stateDir,
    isProtected,
    observe: (p: string) => input.observed.get(p) ?? ABSENT,
  };

  const draft = planChanges(ctx, diff, mode, input.kept);
  const { drift, protectedPaths, submodules, newKept, changes } = draft;

  // Drift is checked against a recorded release only: a first deploy builds no set of its paths.
  const changeSet = recorded === null ? new Set<string>() : changedPaths(diff);
  if (recorded !== null && input.driftScope === 'all' && input.recordedFiles) {
    const outside = driftOutsideChanges(
      input.recordedFiles,
      (p) => changeSet.has(p) || isProtected(p) || inStateDir(p, stateDir),
      ctx.observe,
    );
    drift.push(...outside.drift);
    addWrites(draft, outside.restores);
  }

  if (mode === 'authoritative') planStraysAndRepairs(ctx, diff, input.release, input.observed, draft);
  // The strays planned apart (plan/observed-entries.ts) join the other deletes as a list read when asked.
  const strays = draft.strays ?? [];
  const allDeletes = withStrays(sortByPath(draft.deletes), (d) => d.path, strays, strayDelete);

  const {
    blocked,
    writes: finalWrites,
    deletes: finalDeletes,
  } = applyDriftPolicy({
    recorded,
    drift,
    writes: draft.writes,
    deletes: allDeletes,
    onDrift: input.onDrift,
    maxDeletes: input.maxDeletes,
  });

  // Before drift and max-deletes are reported: no on-drift setting can put a file over a folder
  // the release does not empty (after on-drift: a drifted file left in place keeps it).
  rejectFoldersInFileSlots(finalWrites, finalDeletes, ctx.observe, input.observed, {
    kept: new Set(input.kept.map((k) => k.path)),
    isProtected,
  });

  const kept = carriedKept(mode, [...input.kept, ...newKept], finalWrites, finalDeletes, isProtected);
  const keptPaths = new Set(kept.map((k) => k.path));
  changes.kept = newKept.filter((k) => keptPaths.has(k.path)).map((k) => k.path);
  changes.drift = drift.map((d) => d.path);
  changes.deleted = withStrays(sortPaths(changes.deleted), samePath, strays, samePath);

  const checked =
    input.driftScope === 'all' ? new Set([...changeSet, ...(input.recordedFiles?.keys() ?? [])]) : changeSet;
  return {
    from: recorded,
    to: diff.to,
    mode,
    driftChecked:
      recorded === null ? undefined : { scope: input.driftScope ?? 'changes', files: checked.size },
    writes: sharedWithDiff(finalWrites, diff.changes),
    // Sorted already, unless the drift policy left out some (then a plain array).
    deletes: finalDeletes === allDeletes ? finalDeletes : sortByPath(finalDeletes),
    kept,
    drift,
    protected: protectedPaths,
    submodules,
    changes,
    blocked,
  };
}

/**
 * The diff's own array when the writes are exactly its changes, in order (a first deploy's
 * 500,000 files): one array of them alive through the deploy, not two (4.4 MB). Read only
 * from here on, as the diff's is (it is the manifest's listing too: apply/manifest.ts).
 */
function sharedWithDiff(writes: WriteOp[], changes: DiffResult['changes']): WriteOp[] {
  if (writes === changes || writes.length !== changes.length) return writes;
  for (let i = 0; i < writes.length; i++) if (writes[i] !== changes[i]) return writes;
  return changes as WriteOp[];
}

/** Kept files carry over, minus anything this deploy writes or deletes. */
function carriedKept(
  mode: Mode,
  candidates: readonly KeptFile[],
  writes: readonly { path: string }[],
  deletes: readonly { path: string }[],
  isProtected: (path: string) => boolean,
): KeptFile[] {
  // Authoritative mode keeps nothing (and may delete 300,000 strays: no set of them is built).
  if (mode !== 'additive' || candidates.length === 0) return [];
  const written = new Set([...writes.map((w) => w.path), ...deletes.map((d) => d.path)]);
  const keptMap = new Map<string, string>();
  for (const k of candidates) if (!written.has(k.path) && !isProtected(k.path)) keptMap.set(k.path, k.blob);
  return [...keptMap].map(([path, blob]) => ({ path, blob }));
}

/**
 * A stray's delete, made when the plan's list is read (stray-deletes.ts). Made here, not in
 * planTarget: a closure made there holds its scope, and with it the input's observed entries
 * (every stray's path string) for as long as the plan lives.
 */
const strayDelete = (path: string): DeleteOp => ({ path, reason: 'stray' });
const samePath = (path: string): string => path;
