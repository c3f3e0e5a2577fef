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
  | 'apply'
  | 'activate'
  | 'verify'
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
  /** How many files drift was checked on, and in which drift-scope (absent: no recorded release). */
  driftChecked?: { scope: 'changes' | 'all'; files: number };
}

export interface Report {
  version: 1;
  deployId: string;
  command: 'deploy' | 'plan' | 'rollback';
  status: RolloutStatus;
  to: string;
  ref: string;
  mode: 'additive' | 'authoritative';
  startedAt: string;
  finishedAt: string;
  waves: string[][];
  targets: TargetReport[];
}

export function emptyChanges(): TargetChanges {
  return { added: [], updated: [], deleted: [], renamed: [], kept: [], drift: [] };
}
