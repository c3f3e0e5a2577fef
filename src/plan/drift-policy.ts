/**
 * The last word on a plan: on-drift (fail blocks it, skip drops the drifted
 * paths, overwrite goes ahead) and then max-deletes, on what is left.
 */
import type { OnDrift } from '../config/types.js';
import type { DeleteOp, DriftItem, TargetPlan, WriteOp } from './types.js';

export interface PolicyInput {
  recorded: string | null;
  drift: readonly DriftItem[];
  writes: WriteOp[];
  deletes: DeleteOp[];
  onDrift: OnDrift;
  maxDeletes?: number;
}

/** The writes and deletes the plan keeps, and why it is blocked (null: it may run). */
export function applyDriftPolicy(input: PolicyInput): {
  blocked: TargetPlan['blocked'];
  writes: WriteOp[];
  deletes: DeleteOp[];
} {
  const { drift, writes, deletes, recorded } = input;
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
  return { blocked, writes: finalWrites, deletes: finalDeletes };
}

function short(sha: string | null): string {
  return sha === null ? '(none)' : sha.slice(0, 12);
}
