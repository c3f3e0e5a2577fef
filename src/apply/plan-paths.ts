/**
 * A plan's paths one by one: a first deploy writes 500,000 files, an authoritative deploy may
 * delete 300,000 strays; neither is copied into an array or a set of them all (~10 MB each).
 */
import type { TargetPlan } from '../plan/types.js';

/** Every path a plan writes or deletes, in order. */
export function* touchedPaths(plan: Pick<TargetPlan, 'writes' | 'deletes'>): Generator<string> {
  for (const w of plan.writes) yield w.path;
  yield* deletedPaths(plan);
}

/** Every path a plan deletes, in order. */
export function* deletedPaths(plan: Pick<TargetPlan, 'deletes'>): Generator<string> {
  for (const d of plan.deletes) yield d.path;
}

/** The paths of `among` the plan deletes (a set only of those). */
export function deletedAmong(plan: Pick<TargetPlan, 'deletes'>, among: ReadonlySet<string>): Set<string> {
  const out = new Set<string>();
  if (among.size > 0) for (const p of deletedPaths(plan)) if (among.has(p)) out.add(p);
  return out;
}
