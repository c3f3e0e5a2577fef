/**
 * Drift, defined once (docs/drift.md): a file is drifted when what the target
 * holds at its path is not what the recorded release (or an additive deploy's
 * kept file) put there — other bytes, or nothing. The exec bit alone is not
 * drift (a deploy repairs it silently). Pure: the plan, status and preflight
 * all decide drift with these functions.
 */
import type { GitMode } from '../diff/types.js';
import { SUBMODULE_MODE } from '../diff/types.js';
import type { DriftChecked, DriftItem, KeptFile, Observed, WriteOp } from './types.js';

/** What the recorded release says a path holds. `mode` null: a kept file (no longer in any release). */
export interface ExpectedFile {
  blob: string;
  mode: GitMode | null;
}

/** Is a target entry drifted from `expected` (a blob id, or null: nothing should be there)? */
export function isDrifted(obs: Observed, expected: string | null): boolean {
  if (expected === null) return obs.type !== null;
  return obs.blob !== expected;
}

/** The files drift is checked on, for a recorded release listing: release files (no submodules) + kept files. */
export function expectedFiles(
  release: Iterable<{ path: string; blob: string; mode: GitMode }>,
  kept: readonly KeptFile[],
): Map<string, ExpectedFile> {
  const out = new Map<string, ExpectedFile>();
  for (const f of release) if (f.mode !== SUBMODULE_MODE) out.set(f.path, { blob: f.blob, mode: f.mode });
  for (const k of kept) if (!out.has(k.path)) out.set(k.path, { blob: k.blob, mode: null });
  return out;
}

/** The drifted files among `expected`, in its order. Paths missing from `observed` are absent on the target. */
export function driftAmong(
  expected: ReadonlyMap<string, ExpectedFile>,
  observed: ReadonlyMap<string, Observed>,
): DriftItem[] {
  const out: DriftItem[] = [];
  for (const [path, file] of expected) {
    const obs = observed.get(path) ?? ABSENT;
    if (isDrifted(obs, file.blob)) out.push({ path, expected: file.blob, actual: obs.blob });
  }
  return out;
}

const ABSENT: Observed = { type: null, blob: null, mode: 0 };

/** The one line a report or a plan step says about the drift check. */
export function describeDriftCheck(c: DriftChecked | undefined): string {
  if (c === undefined) return 'no recorded release: drift not checked';
  const files = `${c.files} file${c.files === 1 ? '' : 's'}`;
  return c.scope === 'all'
    ? `drift checked on ${files} of the recorded release`
    : `drift checked on ${files} in the change set`;
}

/**
 * `drift-scope: all`: the recorded release's files outside the change set. Each
 * drifted one is drift, and a write that restores it (its blob is the same in
 * the new release, since the change set does not name it); kept files are only
 * reported (they are in no release). `on-drift` then decides, as for any drift.
 */
export function driftOutsideChanges(
  recorded: ReadonlyMap<string, ExpectedFile>,
  skip: (path: string) => boolean,
  observe: (path: string) => Observed,
): { drift: DriftItem[]; restores: WriteOp[] } {
  const drift: DriftItem[] = [];
  const restores: WriteOp[] = [];
  for (const [path, file] of recorded) {
    if (skip(path)) continue;
    const obs = observe(path);
    if (!isDrifted(obs, file.blob)) continue;
    drift.push({ path, expected: file.blob, actual: obs.blob });
    if (file.mode !== null) restores.push({ path, mode: file.mode, blob: file.blob });
  }
  return { drift, restores };
}
