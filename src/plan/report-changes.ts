/**
 * A plan's change set as the report shows it. In additive mode a file the
 * release deleted stays on the target: it is listed under `kept` only, never
 * under `deleted` too, so no view shows a kept file as about to go.
 */
import type { Mode } from '../config/types.js';
import type { TargetChanges } from '../report/types.js';
import type { TargetPlan } from './types.js';

export function plannedChanges(plan: Pick<TargetPlan, 'changes'>, mode: Mode): TargetChanges {
  const changes = plan.changes;
  if (mode !== 'additive' || changes.kept.length === 0) return changes;
  const kept = new Set(changes.kept);
  return { ...changes, deleted: changes.deleted.filter((p) => !kept.has(p)) };
}
