/**
 * "Is this target still as preflight planned it?", asked cheaply (kept-plans.ts).
 *
 * An additive plan with drift checked on the change set looks only at the
 * paths of its change set and the folders above them. Right after preflight
 * planned, those paths are lstat'ed exactly (size, ns times, inode, mode: the
 * manifest's stat); the deploy, holding the lock, lstats them again. The same
 * stats mean the same files: any write, chmod, rename or removal gives a file
 * a new ctime, and a folder whose entries changed a new mtime. A path that
 * changed while preflight planned (its ctime not clearly older than the
 * plan's start) is not vouched for: that target plans again.
 */
import path from 'node:path';
import type { FileStat } from '../plan/manifest-types.js';
import type { TargetPlan } from '../plan/types.js';
import { touchedPaths } from '../apply/plan-paths.js';
import { exactStats } from '../transport/exact-stats.js';
import type { Transport } from '../transport/transport.js';

/** Paths rechecked at most per plan: beyond that, planning again is the cheaper check. */
const RECHECK_MAX_PATHS = 5_000;
/** How much older than the plan's start a path's ctime must be (coarse kernel clocks lag by ticks). */
const RACY_MS = 1_000;

/** The exact lstats of a plan's paths (null: absent), and the target folder's own mtime. */
export interface PlanSnapshot {
  stats: Map<string, FileStat | null>;
  rootMtimeMs: number | null;
}

/** The paths an additive plan looked at: its change set, and every folder above them. */
export function recheckPaths(plan: TargetPlan): string[] | null {
  if (plan.mode !== 'additive' || plan.driftChecked?.scope === 'all') return null;
  const c = plan.changes;
  // A list longer than the bound is over it (its paths are distinct; and null only means the
  // deploy plans again), unread: a first deploy's 500,000 writes are a listing's view, each read
  // making its path.
  const lists = [plan.writes, plan.deletes, c.added, c.updated, c.deleted, c.kept, c.drift, c.renamed];
  if (lists.some((l) => l.length > RECHECK_MAX_PATHS)) return null;
  const all = new Set<string>();
  for (const file of lookedAt(plan)) {
    for (let p = file; p !== '.' && p !== '' && !all.has(p); p = path.posix.dirname(p)) all.add(p);
    if (all.size > RECHECK_MAX_PATHS) return null;
  }
  return [...all].sort();
}

/** The plan's paths and its change set's, one by one (no array of them all). */
function* lookedAt(plan: TargetPlan): Generator<string> {
  const c = plan.changes;
  yield* touchedPaths(plan);
  for (const list of [c.added, c.updated, c.deleted, c.kept, c.drift]) yield* list;
  for (const r of c.renamed) yield* [r.from, r.to];
}

/**
 * Take the snapshot right after preflight's plan, started at `planStartMs` (Date.now()).
 * Null when a path changed too recently to vouch for, or the transport takes no exact stat.
 */
export async function snapshotPlan(
  t: Transport,
  paths: readonly string[],
  planStartMs: number,
): Promise<PlanSnapshot | null> {
  const stats = await exactStats(t, paths);
  const root = await t.lstat('');
  if (stats === null || root === null) return null;
  const limitNs = BigInt(Math.floor(planStartMs - RACY_MS)) * 1_000_000n;
  for (const s of stats.values()) if (s !== null && BigInt(s.ctimeNs) >= limitNs) return null;
  if (root.mtimeMs >= planStartMs - RACY_MS) return null;
  return { stats, rootMtimeMs: root.mtimeMs };
}

/** True when every path still has the stats of `snapshot` (the deploy holds the lock). */
export async function stillAsPlanned(t: Transport, snapshot: PlanSnapshot): Promise<boolean> {
  const now = await exactStats(t, [...snapshot.stats.keys()]);
  const root = await t.lstat('');
  if (now === null || root === null || root.mtimeMs !== snapshot.rootMtimeMs) return false;
  for (const [rel, before] of snapshot.stats) if (!sameStat(before, now.get(rel) ?? null)) return false;
  return true;
}

function sameStat(a: FileStat | null, b: FileStat | null): boolean {
  if (a === null || b === null) return a === b;
  return (
    a.size === b.size &&
    a.mtimeNs === b.mtimeNs &&
    a.ctimeNs === b.ctimeNs &&
    a.ino === b.ino &&
    a.mode === b.mode
  );
}
