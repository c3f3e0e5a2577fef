/** What one deploy will do to one target. Pure data, built by `planTarget`. */
import type { GitMode } from '../diff/types.js';
import type { EntryType } from '../entry-type.js';
import type { TargetChanges } from '../report/types.js';
import type { ManifestEntry } from './manifest-types.js';
import type { RecordedSelection } from '../apply/recorded-selection.js';
import type { DriftScope } from '../config/types.js';

/** What the target holds at a path, as observed before planning. */
export interface Observed {
  type: EntryType | null;
  /** git blob id of the content (link text for symlinks); null when missing or a folder. */
  blob: string | null;
  /** Permission bits (files only). */
  mode: number;
}

/**
 * A file to write. A write that a change asks for is that change's own object (the report takes
 * the change class from the plan's `changes`): at 500,000 files, no second object per file.
 */
export interface WriteOp {
  path: string;
  mode: GitMode;
  blob: string;
}

export interface DeleteOp {
  path: string;
  reason: 'deleted' | 'renamed' | 'stray';
}

export interface DriftItem {
  path: string;
  /** Blob the recorded release says should be there; null: nothing should be there. */
  expected: string | null;
  /** What is there now: a blob id, or null when the file is gone. */
  actual: string | null;
}

/** A file the release deleted but additive mode leaves in place. Remembered in the target state. */
export interface KeptFile {
  path: string;
  blob: string;
}

export interface TargetPlan {
  from: string | null;
  to: string;
  mode: 'additive' | 'authoritative';
  writes: WriteOp[];
  deletes: DeleteOp[];
  kept: KeptFile[];
  drift: DriftItem[];
  /** Paths skipped because they match `protect`. */
  protected: string[];
  /** Submodule paths: reported, never shipped. */
  submodules: string[];
  /** The change set as the report shows it. */
  changes: TargetChanges;
  /** Paths the target holds as folders where the plan looked (a file of the release can't go there). */
  observedDirs?: string[];
  /** Every file of the release as this deploy leaves it: the manifest to record (apply/manifest.ts). */
  manifest?: readonly ManifestEntry[];
  /**
   * Instead of `manifest` when planned from the recorded commit: the recorded manifest
   * with these changes (merged into its file line by line, not listed whole).
   */
  manifestDelta?: ManifestDelta;
  /**
   * With `manifestDelta`: files this plan hashed and found holding their recorded blob and
   * mode, with the stat they were found with: the next manifest trusts that stat (hash once).
   */
  restat?: ManifestEntry[];
  /** How the plan was made when not from the recorded commit ("planned from the manifest: …"). */
  note?: string;
  /** How many files drift was checked on, and in which scope; undefined without a recorded release. */
  driftChecked?: DriftChecked;
  /** The selection this plan ships, recorded in the new state. */
  selection?: RecordedSelection;
  /** The selection differs from the recorded one: the whole new selection was compared with the target. */
  selectionChanged?: boolean;
  /** `units.reveal: unit`: unit folders built whole beside the live ones, then swapped in (set by the rollout). */
  revealUnits?: Array<{ path: string; deleted: boolean }>;
  /** Set when the plan must not be applied (drift with on-drift: fail, max-deletes). */
  blocked: { code: 'E_DRIFT' | 'E_MAX_DELETES'; message: string } | null;
}

/** What a deploy changes in the manifest: entries new or changed (sorted by path), and paths gone. */
export interface ManifestDelta {
  set: ManifestEntry[];
  remove: string[];
}

/** How many files drift was checked on, and where: for the report ("drift checked on 3 files in the change set"). */
export interface DriftChecked {
  scope: DriftScope;
  files: number;
}
