/**
 * What every step of the planner shares: the recorded release, the target as
 * observed, protect and the state folder (PlanContext), and the plan drafted so far.
 */
import type { StrayPaths } from './stray-deletes.js';
import type { GitMode } from '../diff/types.js';
import { SYMLINK_MODE } from '../diff/types.js';
import { emptyChanges, type TargetChanges } from '../report/types.js';
import type { DeleteOp, DriftItem, KeptFile, Observed, WriteOp } from './types.js';

export interface ReleaseFile {
  mode: GitMode;
  blob: string;
}

export const ABSENT: Observed = { type: null, blob: null, mode: 0 };

export interface PlanContext {
  /** The recorded release; null: nothing is known about the folder (first deploy). */
  recorded: string | null;
  stateDir: string;
  isProtected: (path: string) => boolean;
  /** What the target holds at a path (ABSENT when not observed). */
  observe: (path: string) => Observed;
}

/** The operations and report lists a plan builds up before on-drift and max-deletes decide. */
export interface PlanDraft {
  writes: WriteOp[];
  /** `writes` is the diff's own array (every change written): never changed, addWrites copies it first. */
  sharedWrites: boolean;
  deletes: DeleteOp[];
  /** Authoritative: the strays deleted beyond `deletes`, sorted (plan/stray-deletes.ts merges them in). */
  strays?: StrayPaths;
  drift: DriftItem[];
  protectedPaths: string[];
  submodules: string[];
  /** Files this deploy's diff deletes (or renames away) that additive mode keeps. */
  newKept: KeptFile[];
  changes: TargetChanges;
}

/** A draft with nothing in it yet. */
export function emptyDraft(): PlanDraft {
  return {
    writes: [],
    sharedWrites: false,
    deletes: [],
    drift: [],
    protectedPaths: [],
    submodules: [],
    newKept: [],
    changes: emptyChanges(),
  };
}

/** Add writes to the draft; writes that are the diff's own array are copied first (a diff is shared). */
export function addWrites(draft: PlanDraft, ops: readonly WriteOp[]): void {
  if (draft.sharedWrites) {
    draft.writes = [...draft.writes];
    draft.sharedWrites = false;
  }
  for (const op of ops) draft.writes.push(op);
}

/** Does the target already hold exactly this blob with this git mode? */
export function holds(obs: Observed, blob: string, mode: GitMode): boolean {
  if (obs.blob !== blob) return false;
  if (mode === SYMLINK_MODE) return obs.type === 'symlink';
  if (obs.type !== 'file') return false;
  return (mode === '100755') === ((obs.mode & 0o111) !== 0);
}

export function inStateDir(path: string, stateDir: string): boolean {
  // No string is built per call: the planner asks this of every entry of the target.
  return path.startsWith(stateDir) && (path.length === stateDir.length || path[stateDir.length] === '/');
}
