/**
 * Unit dependency order. A graph maps each unit name to the names it depends
 * on. Activation goes dependencies first; deactivation goes in reverse; a
 * cycle or a dependency on a unit the release does not hold is an error
 * (caught before anything is written). Pure; ties break by name so the order
 * is the same on every run.
 */
import { minimatch } from 'minimatch';
import { DiffshipError } from '../errors.js';

export type DependencyGraph = Map<string, readonly string[]>;

/** The first cycle found, as `A → B → A`, or null. */
export function findCycle(graph: DependencyGraph): string[] | null {
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (name: string): string[] | null => {
    const s = state.get(name);
    if (s === 'done') return null;
    if (s === 'open') return [...stack.slice(stack.indexOf(name)), name];
    state.set(name, 'open');
    stack.push(name);
    for (const dep of [...(graph.get(name) ?? [])].sort()) {
      if (!graph.has(dep)) continue;
      const cycle = visit(dep);
      if (cycle) return cycle;
    }
    stack.pop();
    state.set(name, 'done');
    return null;
  };
  for (const name of [...graph.keys()].sort()) {
    const cycle = visit(name);
    if (cycle) return cycle;
  }
  return null;
}

/** Dependencies that are not units of the graph and not `provided` by the server (globs). */
export function missingDependencies(
  graph: DependencyGraph,
  provided: readonly string[] = [],
): Array<{ unit: string; missing: string }> {
  const out: Array<{ unit: string; missing: string }> = [];
  for (const [unit, deps] of graph) {
    for (const dep of deps) {
      if (graph.has(dep) || provided.some((g) => minimatch(dep, g))) continue;
      out.push({ unit, missing: dep });
    }
  }
  return out.sort((a, b) => (a.unit + a.missing < b.unit + b.missing ? -1 : 1));
}

/** Throw E_UNITS for a cycle or a missing dependency; `where` names the source (a file, a release). */
export function checkGraph(graph: DependencyGraph, provided: readonly string[], where: string): void {
  const cycle = findCycle(graph);
  if (cycle) {
    throw new DiffshipError(
      'E_UNITS',
      `${where}: dependency cycle ${cycle.join(' → ')} — a unit cannot be activated before itself; remove one of these dependencies`,
    );
  }
  const missing = missingDependencies(graph, provided);
  if (missing.length > 0) {
    const list = missing.map((m) => `${m.unit} requires ${m.missing}`).join(', ');
    throw new DiffshipError(
      'E_UNITS',
      `${where}: ${list}, which the release does not hold — add it, or list it under units.provided if the server already has it`,
    );
  }
}

/** Every unit, dependencies before dependents (Kahn's algorithm, ties by name). Assumes no cycle. */
export function topologicalOrder(graph: DependencyGraph): string[] {
  const pending = new Map<string, number>();
  const dependents = new Map<string, string[]>();
  for (const [name, deps] of graph) {
    const inGraph = [...new Set(deps)].filter((d) => graph.has(d));
    pending.set(name, inGraph.length);
    for (const d of inGraph) dependents.set(d, [...(dependents.get(d) ?? []), name]);
  }
  const ready = [...pending].filter(([, n]) => n === 0).map(([k]) => k);
  const out: string[] = [];
  while (ready.length > 0) {
    ready.sort();
    const next = ready.shift()!;
    out.push(next);
    for (const d of dependents.get(next) ?? []) {
      const n = pending.get(d)! - 1;
      pending.set(d, n);
      if (n === 0) ready.push(d);
    }
  }
  return out;
}

/** Units that depend on any of `names`, directly or through others (not `names` themselves). */
export function dependentsOf(graph: DependencyGraph, names: Iterable<string>): Set<string> {
  const start = new Set(names);
  const found = new Set<string>();
  let grew = true;
  while (grew) {
    grew = false;
    for (const [unit, deps] of graph) {
      if (start.has(unit) || found.has(unit)) continue;
      if (deps.some((d) => start.has(d) || found.has(d))) {
        found.add(unit);
        grew = true;
      }
    }
  }
  return found;
}

/** What to activate, in order: the changed units, plus their dependents when `reloadDependents`. */
export function activationOrder(
  graph: DependencyGraph,
  changed: Iterable<string>,
  reloadDependents: boolean,
): Array<{ name: string; reason: 'changed' | 'dependent' }> {
  const changedSet = new Set(changed);
  const dependents = reloadDependents ? dependentsOf(graph, changedSet) : new Set<string>();
  return topologicalOrder(graph)
    .filter((n) => changedSet.has(n) || dependents.has(n))
    .map((name) => ({ name, reason: changedSet.has(name) ? 'changed' : 'dependent' }));
}

/** Units to deactivate, dependents first (the reverse of activation), using the old release's graph. */
export function deactivationOrder(graph: DependencyGraph, deleted: Iterable<string>): string[] {
  const set = new Set(deleted);
  const ordered = topologicalOrder(graph).filter((n) => set.has(n));
  const rest = [...set].filter((n) => !ordered.includes(n)).sort();
  return [...ordered, ...rest].reverse();
}
