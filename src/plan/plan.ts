/**
 * The planner: change set × what the target holds × mode → operations.
 * Pure, so every rule of SPEC §3 (modes, protect, drift, kept, max-deletes) is
 * unit-tested without a filesystem; the apply engine only executes the result.
 */
import { minimatch } from 'minimatch';
import type { Change, DiffResult, GitMode } from '../diff/types.js';
import { SUBMODULE_MODE, SYMLINK_MODE } from '../diff/types.js';
import type { DriftScope, Mode, OnDrift } from '../config/types.js';
import { driftOutsideChanges, isDrifted, type ExpectedFile } from './drift.js';
import { emptyChanges } from '../report/types.js';
import { byteOrder } from '../byte-order.js';
import { DiffshipError } from '../errors.js';
import type { DeleteOp, DriftItem, KeptFile, Observed, TargetPlan, WriteOp } from './types.js';

export interface ReleaseFile {
  mode: GitMode;
  blob: string;
}

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

const ABSENT: Observed = { type: null, blob: null, mode: 0 };

/** Which paths the planner needs observed. Authoritative mode observes the whole folder instead. */
export function pathsToObserve(diff: DiffResult): string[] {
  const paths: string[] = [];
  for (const c of diff.changes) {
    if (c.status !== 'deleted' && c.mode !== SUBMODULE_MODE) paths.push(c.path);
    if (c.status === 'deleted' || c.status === 'renamed')
      paths.push(c.status === 'renamed' ? c.oldPath : c.path);
  }
  return paths;
}

/** Does the target already hold exactly this blob with this git mode? */
export function holds(obs: Observed, blob: string, mode: GitMode): boolean {
  if (obs.blob !== blob) return false;
  if (mode === SYMLINK_MODE) return obs.type === 'symlink';
  if (obs.type !== 'file') return false;
  return (mode === '100755') === ((obs.mode & 0o111) !== 0);
}

function inStateDir(path: string, stateDir: string): boolean {
  return path === stateDir || path.startsWith(`${stateDir}/`);
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
  const isProtected = (p: string) => input.protect.some((g) => minimatch(p, g, { dot: true }));
  const observe = (p: string) => input.observed.get(p) ?? ABSENT;
  const keptBlob = new Map(input.kept.map((k) => [k.path, k.blob]));

  const writes: WriteOp[] = [];
  const deletes: DeleteOp[] = [];
  const drift: DriftItem[] = [];
  const protectedPaths: string[] = [];
  const submodules: string[] = [];
  const newKept: KeptFile[] = [];
  const changes = emptyChanges();

  for (const c of diff.changes) {
    if (inStateDir(c.path, stateDir) || (c.status === 'renamed' && inStateDir(c.oldPath, stateDir))) {
      throw new DiffshipError(
        'E_UNSAFE',
        `release path ${c.path} lies inside the state folder ${stateDir} — set state-dir to a name the release does not use, or exclude it`,
      );
    }
  }

  /** Expected content at a path before this deploy, per the recorded release (null: nothing). */
  const expectWrite = (
    path: string,
    blob: string,
    gitMode: GitMode,
    reason: WriteOp['reason'],
    old?: string,
  ) => {
    if (isProtected(path)) return void protectedPaths.push(path);
    const obs = observe(path);
    if (holds(obs, blob, gitMode)) return; // already in place (a re-run, or a repaired crash)
    // Without a recorded release nothing is known about the folder: first deploys take it over.
    if (recorded !== null) {
      const expected = old ?? keptBlob.get(path) ?? null;
      if (isDrifted(obs, expected)) drift.push({ path, expected, actual: obs.blob });
    }
    writes.push({ path, mode: gitMode, blob, reason });
  };

  const expectDelete = (path: string, oldBlob: string, reason: DeleteOp['reason']) => {
    if (isProtected(path)) return void protectedPaths.push(path);
    const obs = observe(path);
    if (obs.type === null) return; // already gone: not an error
    if (recorded !== null && isDrifted(obs, oldBlob))
      drift.push({ path, expected: oldBlob, actual: obs.blob });
    deletes.push({ path, reason });
  };

  for (const c of diff.changes as Change[]) {
    const sub =
      (c.status !== 'deleted' && c.mode === SUBMODULE_MODE) ||
      ('oldMode' in c && c.oldMode === SUBMODULE_MODE);
    if (sub) {
      submodules.push(c.path);
      continue;
    }
    switch (c.status) {
      case 'added':
        changes.added.push(c.path);
        expectWrite(c.path, c.blob, c.mode, 'added');
        break;
      case 'updated':
        changes.updated.push(c.path);
        expectWrite(c.path, c.blob, c.mode, 'updated', c.oldBlob);
        break;
      case 'renamed':
        changes.renamed.push({ from: c.oldPath, to: c.path });
        expectWrite(c.path, c.blob, c.mode, 'renamed');
        if (mode === 'authoritative') expectDelete(c.oldPath, c.oldBlob, 'renamed');
        else newKept.push({ path: c.oldPath, blob: c.oldBlob });
        break;
      case 'deleted':
        changes.deleted.push(c.path);
        if (mode === 'authoritative') expectDelete(c.path, c.oldBlob, 'deleted');
        else newKept.push({ path: c.path, blob: c.oldBlob });
        break;
    }
  }

  const changeSet = new Set<string>();
  for (const c of diff.changes) {
    changeSet.add(c.path);
    if (c.status === 'renamed') changeSet.add(c.oldPath);
  }
  if (recorded !== null && input.driftScope === 'all' && input.recordedFiles) {
    const outside = driftOutsideChanges(
      input.recordedFiles,
      (p) => changeSet.has(p) || isProtected(p) || inStateDir(p, stateDir),
      observe,
    );
    drift.push(...outside.drift);
    writes.push(...outside.restores);
  }

  if (mode === 'authoritative') {
    const release = input.release;
    if (!release) throw new Error('authoritative plan needs the release listing');
    const touched = new Set<string>([...writes.map((w) => w.path), ...deletes.map((d) => d.path)]);
    for (const c of diff.changes) {
      touched.add(c.path);
      if (c.status === 'renamed') touched.add(c.oldPath);
    }
    for (const [path, obs] of input.observed) {
      if (touched.has(path) || obs.type === null || obs.type === 'dir' || inStateDir(path, stateDir))
        continue;
      const file = release.get(path);
      if (file === undefined) {
        // A stray: on the target, not in the release.
        if (isProtected(path)) continue;
        // Never in the diff's own deleted list: those paths are all in `touched`.
        changes.deleted.push(path);
        deletes.push({ path, reason: 'stray' });
      } else if (file.mode !== SUBMODULE_MODE && !holds(obs, file.blob, file.mode) && !isProtected(path)) {
        // Unchanged by the diff but different on the target: drift (or a repair without a record).
        if (recorded !== null && isDrifted(obs, file.blob))
          drift.push({ path, expected: file.blob, actual: obs.blob });
        writes.push({ path, mode: file.mode, blob: file.blob, reason: 'updated' });
      }
    }
    // Release files the target lacks altogether (deleted by hand) are drift too.
    for (const [path, file] of release) {
      if (touched.has(path) || input.observed.has(path) || file.mode === SUBMODULE_MODE || isProtected(path))
        continue;
      if (recorded !== null) drift.push({ path, expected: file.blob, actual: null });
      writes.push({ path, mode: file.mode, blob: file.blob, reason: 'updated' });
    }
  }

  let blocked: TargetPlan['blocked'] = null;
  let finalWrites = writes;
  let finalDeletes = deletes;
  if (drift.length > 0) {
    if (input.onDrift === 'fail') {
      const list = drift.slice(0, 10).map((d) => d.path);
      const more = drift.length > 10 ? ` and ${drift.length - 10} more` : '';
      blocked = {
        code: 'E_DRIFT',
        message: `${drift.length} file(s) changed on the target since release ${short(recorded)}: ${list.join(', ')}${more} — set on-drift: overwrite to replace them (old bytes go to the backup) or on-drift: skip to leave them`,
      };
    } else if (input.onDrift === 'skip') {
      const skip = new Set(drift.map((d) => d.path));
      finalWrites = writes.filter((w) => !skip.has(w.path));
      finalDeletes = deletes.filter((d) => !skip.has(d.path));
    }
  }
  if (blocked === null && input.maxDeletes !== undefined && finalDeletes.length > input.maxDeletes) {
    blocked = {
      code: 'E_MAX_DELETES',
      message: `this deploy would delete ${finalDeletes.length} file(s), more than max-deletes: ${input.maxDeletes} — check the release and mode, or raise max-deletes (--max-deletes)`,
    };
  }

  // Kept files carry over, minus anything this deploy writes or deletes.
  const written = new Set([...finalWrites.map((w) => w.path), ...finalDeletes.map((d) => d.path)]);
  const keptMap = new Map<string, string>();
  if (mode === 'additive') {
    for (const k of [...input.kept, ...newKept])
      if (!written.has(k.path) && !isProtected(k.path)) keptMap.set(k.path, k.blob);
  }
  const kept = [...keptMap].map(([path, blob]) => ({ path, blob }));
  changes.kept = newKept.filter((k) => keptMap.has(k.path)).map((k) => k.path);
  changes.drift = drift.map((d) => d.path);
  changes.deleted.sort(byteOrder);

  const checked =
    input.driftScope === 'all' ? new Set([...changeSet, ...(input.recordedFiles?.keys() ?? [])]) : changeSet;
  return {
    from: recorded,
    to: diff.to,
    mode,
    driftChecked:
      recorded === null ? undefined : { scope: input.driftScope ?? 'changes', files: checked.size },
    writes: finalWrites,
    deletes: finalDeletes.sort((a, b) => byteOrder(a.path, b.path)),
    kept,
    drift,
    protected: protectedPaths,
    submodules,
    changes,
    blocked,
  };
}

function short(sha: string | null): string {
  return sha === null ? '(none)' : sha.slice(0, 12);
}
