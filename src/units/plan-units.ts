/**
 * Which units a change set touches, and the order they are activated and
 * deactivated in (docs/units.md). Pure: the releases' file lists and
 * dependency graphs come in, the unit plan comes out.
 */
import { groupUnits, unitPathOf, type UnitStatus } from './detect.js';
import { activationOrder, deactivationOrder, type DependencyGraph } from './order.js';

/** One unit a deploy touches, as hooks, `DIFFSHIP_UNITS` and the report show it. */
export interface UnitChange {
  name: string;
  path: string;
  /** `dependent`: unchanged, reloaded because a unit it depends on changed (`reload-dependents`). */
  status: UnitStatus | 'dependent';
  /** The unit's files this deploy writes or deletes. */
  files: string[];
}

export interface UnitsPlan {
  /** Units to activate (then verify), dependencies first. */
  activate: UnitChange[];
  /** Units the release deletes, dependents first: deactivated before their files go. */
  deactivate: UnitChange[];
}

export interface PlanUnitsInput {
  match: readonly string[];
  /** Files of the new release (target-relative). */
  toFiles: readonly string[];
  /** Files of the release the target holds; null: unknown (first deploy: []). */
  fromFiles: readonly string[] | null;
  /** Paths the deploy writes, and paths it deletes. */
  writes: readonly string[];
  deletes: readonly string[];
  /** Dependencies between the new release's units (by name), and the old release's. */
  graph: DependencyGraph;
  fromGraph: DependencyGraph;
  reloadDependents: boolean;
}

/**
 * @example planUnits({ match: ['packages/*'], toFiles: ['packages/A/x'], fromFiles: [], writes: ['packages/A/x'],
 *   deletes: [], graph: new Map([['A', []]]), fromGraph: new Map(), reloadDependents: false })
 * // { activate: [{ name: 'A', path: 'packages/A', status: 'added', files: ['packages/A/x'] }], deactivate: [] }
 */
export function planUnits(input: PlanUnitsInput): UnitsPlan {
  const to = groupUnits(input.toFiles, input.match);
  const from = input.fromFiles === null ? null : groupUnits(input.fromFiles, input.match);
  const touched = new Map<string, string[]>();
  for (const file of [...input.writes, ...input.deletes]) {
    const path = unitPathOf(file, input.match);
    if (path !== null) touched.set(path, [...(touched.get(path) ?? []), file]);
  }
  const byName = new Map<string, UnitChange>();
  const deleted: UnitChange[] = [];
  for (const [path, files] of touched) {
    const unit = to.get(path);
    const name = unit?.name ?? path.split('/').pop()!;
    let status: UnitStatus;
    if (!unit) status = 'deleted';
    else if (from) status = from.has(path) ? 'updated' : 'added';
    else status = unit.files.every((f) => input.writes.includes(f)) ? 'added' : 'updated';
    const change: UnitChange = { name, path, status, files: files.sort() };
    if (status === 'deleted') deleted.push(change);
    else byName.set(name, change);
  }
  // Every unit of the release is in the graph, so the order covers units with no dependencies too.
  const graph: DependencyGraph = new Map(input.graph);
  for (const u of to.values()) if (!graph.has(u.name)) graph.set(u.name, []);
  const activate = activationOrder(graph, byName.keys(), input.reloadDependents).map(({ name }) => {
    const own = byName.get(name);
    if (own) return own;
    const unit = [...to.values()].find((u) => u.name === name)!;
    return { name, path: unit.path, status: 'dependent' as const, files: [] };
  });
  const order = deactivationOrder(
    input.fromGraph,
    deleted.map((d) => d.name),
  );
  const deactivate = order.map((n) => deleted.find((d) => d.name === n)!);
  return { activate, deactivate };
}
