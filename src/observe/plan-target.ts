/**
 * Planning one open target: the diff from its recorded release (or manifest), what the target
 * holds (walk, hash, drift over the recorded release), then the pure planner. Writes nothing.
 */
import type { DiffResult } from '../diff/types.js';
import { diffWith } from '../diff/diff-releases.js';
import type { GitObjects } from '../diff/git-objects.js';
import { hashAlgorithmOf, type HashAlgorithm } from '../diff/blob.js';
import type { DriftScope, Mode, OnDrift } from '../config/types.js';
import type { ExpectedFile } from '../plan/drift.js';
import { countPathsToObserve, pathsToObserve, planTarget, type ReleaseFile } from '../plan/plan.js';
import type { Observed, TargetPlan } from '../plan/types.js';
import { ObservedEntries } from '../plan/observed-entries.js';
import type { ManifestEntry } from '../plan/manifest-types.js';
import type { TargetState } from '../apply/state.js';
import { currentSelection, sameSelection } from '../apply/recorded-selection.js';
import { planBasis, type Basis, type BasisOptions } from '../apply/basis.js';
import { observeRecorded } from './observe-drift.js';
import { observeInto, type ObserveTarget } from './observe-paths.js';
import type { StatCache } from './stat-vouch.js';
import { isTypeOnly, observeWhole } from './observe-authoritative.js';
import { startLook } from './observe-look.js';
import { gitlinksOf, manifestBasis } from './manifest-release.js';
import { startWholeWalk, stateHint } from './whole-walk.js';
import { seedEcho, type EchoSeed } from './walk-echo.js';
import { cancelledError, cancelPoint, unlessCancelled } from '../cancelled.js';

/** What a plan starts from (apply/basis.ts), plus how the target is compared with the release. */
export interface PlanOptions extends Omit<BasisOptions, 'wholeSelection'> {
  mode: Mode;
  protect?: readonly string[];
  onDrift: OnDrift;
  /** Default `changes`; `all` also checks every file of the recorded release. */
  driftScope?: DriftScope;
  maxDeletes?: number;
}

/** What planning needs of an open session. */
export interface PlanTarget extends ObserveTarget {
  /** The state as found after recovery. */
  state: TargetState | null;
  /** The repository's shared object reader, or null (each diff starts its own git process). */
  objects: GitObjects | null;
}

type Filters = Pick<PlanOptions, 'repo' | 'source' | 'include' | 'exclude' | 'renames'>;

/** Diff from the recorded release, observe the target, and plan. Writes nothing. */
export async function planOnTarget(target: PlanTarget, o: PlanOptions): Promise<TargetPlan> {
  const { state, objects } = target;
  const filters: Filters = {
    repo: o.repo,
    source: o.source,
    include: o.include,
    exclude: o.exclude,
    renames: o.renames,
  };
  if (o.mode === 'authoritative') startPlanWalk(target, o);
  const selection = await currentSelection(objects, o.repo, o.to, o);
  // A changed selection: the diff from the recorded release knows nothing of files that were
  // outside the old one, so the whole new selection is compared with the target (as a first deploy).
  const sameFiles = sameSelection(state?.selection, selection);
  // Units held back by a per-unit rollback: their files are the manifest's, not the recorded
  // release's, so the whole release is compared with the manifest and they are shipped again.
  const held = state?.heldBack ?? [];
  // The recorded commit, else the manifest (history rewritten), else a refusal naming the fixes.
  const basis = await unlessCancelled(
    planBasis(
      objects,
      state,
      { ...filters, ...o, wholeSelection: !sameFiles || held.length > 0 },
      target.transport.description,
    ),
    target.signal,
  );
  // Each phase of a big plan takes seconds: a cancellation stops it between them.
  if (basis === undefined) throw cancelledError('the plan (reading the release)');
  const diff: DiffResult = basis.diff;
  // The target's files are hashed the way the repository names its objects (sha1 or sha256).
  const algorithm = hashAlgorithmOf(diff.to);
  // The look at the target (a release listing, a walk of 500,000 entries) is not waited for
  // once cancelled: what it still reads is dropped.
  const seen = await unlessCancelled<{
    observed: Map<string, Observed>;
    release?: Map<string, ReleaseFile>;
    restat?: ManifestEntry[];
    echo?: EchoSeed;
  }>(
    o.mode === 'authoritative'
      ? observeAuthoritative(target, basis, filters, o, algorithm)
      : observeAdditive(target, diff, algorithm).then((observed) => ({ observed, release: undefined })),
    target.signal,
  );
  if (seen === undefined) throw cancelledError('the plan (looking at the target)');
  const { observed, release } = seen;
  await cancelPoint(target.signal, 'the plan (looking at the target)');
  await observeFolderSlots(target, observed, diff);
  const recordedFiles =
    o.driftScope === 'all'
      ? await observeRecordedRelease(target, filters, diff, observed, algorithm)
      : undefined;
  await cancelPoint(target.signal, 'the plan');
  const plan = planTarget({
    diff,
    mode: o.mode,
    driftScope: o.driftScope,
    recordedFiles,
    protect: o.protect ?? [],
    onDrift: o.onDrift,
    maxDeletes: o.maxDeletes,
    stateDir: target.layout.dir,
    kept: state?.kept ?? [],
    observed,
    release,
  });
  await cancelPoint(target.signal, 'the plan');
  plan.observedDirs = [];
  // The strays kept apart are files (plan/observed-entries.ts): only the other entries are read.
  const entries = observed instanceof ObservedEntries ? observed.others() : observed;
  for (const [path, seen] of entries) if (seen.type === 'dir') plan.observedDirs.push(path);
  if (basis.listing) plan.manifest = basis.listing;
  if (basis.delta) plan.manifestDelta = basis.delta;
  if (basis.delta && seen.restat?.length) plan.restat = seen.restat;
  if (basis.delta && seen.echo) seedEcho(plan, seen.echo);
  if (basis.note !== null) plan.note = basis.note;
  if (held.length > 0) {
    const names = held.map((h) => h.name).join(', ');
    const note = `unit(s) held back by a unit rollback compared with the manifest: ${names}`;
    plan.note = plan.note ? `${plan.note}; ${note}` : note;
  }
  plan.selection = selection;
  if (!sameFiles) {
    plan.from = state?.release ?? null;
    plan.selectionChanged = true;
  }
  return plan;
}

/**
 * An authoritative plan walks the whole target: locally that walk starts now, while git works
 * (or it started as the rollout did: rollout/early-walk.ts, kept if of the same kind).
 */
function startPlanWalk(target: PlanTarget, o: Pick<PlanOptions, 'driftScope'>): void {
  startWholeWalk(target.transport, [target.layout.dir], stateHint(target.state), o);
}

/** Authoritative: the whole release, and everything the target holds (one walk). */
async function observeAuthoritative(
  target: PlanTarget,
  basis: Basis,
  filters: Filters,
  o: Pick<PlanOptions, 'to' | 'driftScope' | 'protect'>,
  algorithm: HashAlgorithm,
): Promise<{
  observed: Map<string, Observed>;
  release: Map<string, ReleaseFile>;
  restat?: ManifestEntry[];
  echo?: EchoSeed;
}> {
  const { to } = o;
  // Over SSH the target's look starts now, while git lists the release.
  const look = startLook(target, target.state);
  // The release need not be listed when the manifest and the diff say it (observe/manifest-release.ts).
  const byManifest =
    look === null
      ? manifestBasis(target, basis, o, (paths) => gitlinksOf(target.objects, filters, basis.diff.to, paths))
      : undefined;
  const files: Array<ReleaseFile & { path: string }> = [];
  if (byManifest === undefined) {
    const full = basis.full ?? (await diffWith(target.objects, { ...filters, from: null, to }));
    for (const c of full.changes) if (c.status !== 'deleted') files.push(c);
  }
  const named = new Set(pathsToObserve(basis.diff));
  // Names and types of everything; only the release's files and the diff's paths are looked into,
  // and only what the plan acts on is kept (a file in sync is counted, not held).
  const { observed, release, restat, echo } = await observeWhole(
    target,
    files,
    named,
    { manifest: target.state?.manifest, statePath: target.layout.state },
    algorithm,
    look,
    byManifest,
  );
  // Paths the diff names but the walk did not reach (under a symlinked folder, say) still need a look.
  await observeInto(
    target,
    observed,
    [...named].filter((p) => !observed.has(p)),
    algorithm,
    statCacheOf(target),
  );
  return { observed, release, restat, ...(echo && { echo }) };
}

/**
 * Folders where the release writes a file: everything in them, so the planner sees whether this
 * deploy empties each one (plan/folder-slots.ts). Rare, and only such folders are listed.
 */
async function observeFolderSlots(
  target: PlanTarget,
  observed: Map<string, Observed>,
  diff: DiffResult,
): Promise<void> {
  const slots: string[] = [];
  for (const c of diff.changes)
    if (c.status !== 'deleted' && observed.get(c.path)?.type === 'dir') slots.push(c.path);
  // Walked together: over SSH a walk lists a folder a round trip, so one slot after another
  // cost a round trip for every folder of every slot; together, one a depth.
  const walks = await Promise.all(slots.map((p) => target.transport.walk(p, [target.layout.dir])));
  for (const entries of walks)
    for (const e of entries)
      if (!observed.has(e.path)) observed.set(e.path, { type: e.type, blob: null, mode: e.mode });
}

/** Additive: only the paths the diff names. */
async function observeAdditive(
  target: PlanTarget,
  diff: DiffResult,
  algorithm: HashAlgorithm,
): Promise<Map<string, Observed>> {
  const observed = new Map<string, Observed>();
  // Counted first: a big list is only made when the walk finds something (not into an empty folder).
  const list = { count: countPathsToObserve(diff), paths: () => pathsToObserve(diff) };
  await observeInto(target, observed, list, algorithm, statCacheOf(target));
  return observed;
}

/** `drift-scope: all`: the recorded release's files, added to `observed`; undefined on a first deploy. */
async function observeRecordedRelease(
  target: PlanTarget,
  filters: Filters,
  diff: DiffResult,
  observed: Map<string, Observed>,
  algorithm: HashAlgorithm,
): Promise<Map<string, ExpectedFile> | undefined> {
  if (diff.from === null) return undefined;
  // Every file of the recorded release, observed once: paths the plan already looked at are reused.
  const rec = await observeRecorded(
    target.transport,
    target.objects,
    {
      ...filters,
      release: diff.from,
      kept: target.state?.kept ?? [],
      files: target.state?.manifest?.files,
      statePath: target.layout.state,
    },
    observed,
  );
  // A stray the walk only named gets the content drift needs.
  for (const [path, obs] of rec.observed) {
    const seen = observed.get(path);
    if (seen === undefined || isTypeOnly(seen)) observed.set(path, obs);
  }
  // A recorded file with no hash is missing, or a folder stands in its place: only a look tells
  // which, and a folder must reach the planner as one (it refuses to write over it).
  const unseen = [...rec.expected.keys()].filter((p) => !observed.has(p));
  if (unseen.length > 0) await observeInto(target, observed, unseen, algorithm, statCacheOf(target));
  return rec.expected;
}

/** The target's stat cache: its recorded manifest, and its state file (the racy line). */
function statCacheOf(target: PlanTarget): StatCache {
  return { manifest: target.state?.manifest, statePath: target.layout.state };
}
