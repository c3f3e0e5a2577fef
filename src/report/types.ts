/** The rollout report (SPEC §5): one value feeds the JSON file, the terminal table and the job summary. */

export type RolloutStatus = 'succeeded' | 'failed' | 'cancelled' | 'planned';
/**
 * `rollback-unhealthy`: the files were restored, but activate or verify failed
 * against the restored release — the host may be down; exit 1.
 */
export type TargetStatus =
  'deployed' | 'unchanged' | 'failed' | 'rolled-back' | 'rollback-unhealthy' | 'skipped' | 'planned';
export type StepStatus = 'ok' | 'failed' | 'skipped';
export type StepName =
  | 'preflight'
  | 'lock'
  | 'plan'
  | 'before'
  | 'drain'
  | 'apply'
  | 'deactivate'
  | 'activate'
  | 'verify'
  | 'bake'
  | 'restore'
  | 'after'
  | 'rollback'
  | 'unlock';

export interface StepReport {
  name: StepName;
  status: StepStatus;
  durationMs: number;
  /** Trimmed output or a one-line reason. */
  detail: string;
  /** ISO time the step started (for the timeline). */
  startedAt?: string;
  /** The node of a shared-storage target the step ran for (`nodes`). */
  node?: string;
  /** The unit a `units` hook or check ran for (docs/units.md). */
  unit?: string;
}

/** One unit a deploy touches (`units`), in the order its hooks run: deactivations first, then activations. */
export interface UnitReport {
  name: string;
  /** The unit's folder or file, relative to the target folder. */
  path: string;
  /** `dependent`: unchanged, reloaded after a unit it depends on (`reload-dependents`). */
  status: 'added' | 'updated' | 'deleted' | 'dependent';
  /** The unit's files this deploy writes or deletes. */
  files: string[];
  /** What happened: `planned` until its hooks run; `skipped` when an earlier unit failed. */
  result: 'planned' | 'activated' | 'deactivated' | 'failed' | 'rolled-back' | 'skipped';
}

export interface RenamedPath {
  from: string;
  to: string;
}

export interface TargetChanges {
  added: string[];
  updated: string[];
  deleted: string[];
  renamed: RenamedPath[];
  /** Deleted by the release but left in place (additive mode). */
  kept: string[];
  /** Files changed on the target by hand. */
  drift: string[];
}

export interface TargetReport {
  name: string;
  wave: number;
  status: TargetStatus;
  from: string | null;
  to: string;
  changes: TargetChanges;
  /** Bytes written to the target. */
  bytes: number;
  steps: StepReport[];
  error: string | null;
  /** The error's code (E_REF, E_DRIFT, …) when it had one: tells exit 2 from exit 1. */
  errorCode?: string;
  /** How the plan was made when not from the recorded commit ("planned from the manifest: …"). */
  note?: string;
  /** How many files drift was checked on, and in which drift-scope (absent: no recorded release). */
  driftChecked?: { scope: 'changes' | 'all'; files: number };
  /** The units this deploy touches, in hook order (absent without `units`). */
  units?: UnitReport[];
  /**
   * `units`: the units a per-unit rollback held back at their previous files (the failed
   * one, and units never reached); the rest of the release stayed deployed. Status is
   * `rolled-back` (a failure: exit 1).
   */
  heldBack?: string[];
}

export interface Report {
  version: 1;
  deployId: string;
  command: 'deploy' | 'plan' | 'rollback';
  status: RolloutStatus;
  to: string;
  ref: string;
  /** Set for a built release (`--dir`): the folder shipped; `to` is its tree id. */
  dir?: string;
  mode: 'additive' | 'authoritative';
  startedAt: string;
  finishedAt: string;
  waves: string[][];
  targets: TargetReport[];
  /** What ran around the waves: rollout/wave hooks, bakes, the min-healthy check (absent when none). */
  rollout?: RolloutStepReport[];
}

/** One step around the waves: `before-rollout`, `before-wave`, `bake`, `min-healthy`, … */
export interface RolloutStepReport {
  name: 'before-rollout' | 'after-rollout' | 'before-wave' | 'after-wave' | 'bake' | 'min-healthy';
  /** 1-based wave number; absent for rollout-level steps. */
  wave?: number;
  status: 'ok' | 'failed';
  durationMs: number;
  detail: string;
}

export function emptyChanges(): TargetChanges {
  return { added: [], updated: [], deleted: [], renamed: [], kept: [], drift: [] };
}
