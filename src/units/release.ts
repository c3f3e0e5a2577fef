/**
 * The release side of units: list a release's files and build its dependency
 * graph (webmethods: each package's `manifest.v3`; file: the configured map).
 * A cycle or a missing dependency throws E_UNITS here, during the plan, before
 * anything is written.
 */
import { posix } from 'node:path';
import type { UnitsConfig } from '../config/types.js';
import { createPathFilter } from '../diff/filter.js';
import { catFileBatch, runGit } from '../diff/git.js';
import { normalizeSource } from '../diff/ref.js';
import { DiffshipError } from '../errors.js';
import { groupUnits } from './detect.js';
import { parseManifestV3 } from './manifest-v3.js';
import { checkGraph, type DependencyGraph } from './order.js';
import { planUnits, type UnitsPlan } from './plan-units.js';

export interface ReleaseUnitsOptions {
  repo: string;
  source: string;
  include: string[];
  exclude: string[];
}

/** Files of release `sha` under `source`, target-relative, filtered like the deploy. */
async function releaseFiles(o: ReleaseUnitsOptions, sha: string): Promise<string[]> {
  const { prefix } = normalizeSource(o.source);
  const args = ['ls-tree', '-r', '-z', '--name-only', sha];
  if (prefix) args.push('--', prefix);
  const { stdout } = await runGit(o.repo, args);
  const filter = createPathFilter({ include: o.include, exclude: o.exclude });
  return stdout
    .toString('utf8')
    .split('\0')
    .filter((p) => p.startsWith(prefix) && p.length > prefix.length)
    .map((p) => p.slice(prefix.length))
    .filter(filter);
}

/**
 * The dependency graph of the units in `files` (release `sha`). `blobs`: where a file's
 * content is found by blob id (the recorded manifest) instead of `sha:path` (the recorded
 * commit is gone).
 */
async function unitGraph(
  o: ReleaseUnitsOptions,
  units: UnitsConfig,
  sha: string,
  files: readonly string[],
  blobs?: ReadonlyMap<string, string>,
): Promise<DependencyGraph> {
  const grouped = [...groupUnits(files, units.match).values()];
  const graph: DependencyGraph = new Map(grouped.map((u) => [u.name, []]));
  if (units.depends.kind === 'file') {
    for (const u of grouped) graph.set(u.name, units.depends.graph[u.name] ?? []);
  } else if (units.depends.kind === 'webmethods') {
    const { prefix } = normalizeSource(o.source);
    const withManifest = grouped.filter((u) => u.files.includes(`${u.path}/manifest.v3`));
    const found = await catFileBatch(
      o.repo,
      withManifest.map((u) => blobs?.get(`${u.path}/manifest.v3`) ?? `${sha}:${prefix}${u.path}/manifest.v3`),
    );
    withManifest.forEach((u, i) => {
      const r = found[i]!;
      if (!r.found) return;
      try {
        graph.set(u.name, Object.keys(parseManifestV3(r.content.toString('utf8')).requires));
      } catch (error) {
        throw new DiffshipError(
          'E_UNITS',
          `${posix.join(u.path, 'manifest.v3')} in release ${sha.slice(0, 12)}: ${(error as Error).message}`,
        );
      }
    });
  }
  return graph;
}

/**
 * The unit plan of one deploy: release `to` over `from` (null: first deploy), given its
 * writes and deletes. `recorded`: the target's manifest, what `from` put there — used when
 * `from` is not in the repository (a plan from the manifest): its paths are the old files,
 * and its blob ids find the old `manifest.v3`s (deactivation order) while those objects exist.
 */
export async function planReleaseUnits(
  o: ReleaseUnitsOptions,
  units: UnitsConfig,
  release: { from: string | null; to: string },
  writes: readonly string[],
  deletes: readonly string[],
  recorded?: ReadonlyArray<{ path: string; blob: string }> | null,
): Promise<UnitsPlan> {
  const toFiles = await releaseFiles(o, release.to);
  const graph = await unitGraph(o, units, release.to, toFiles);
  checkGraph(graph, units.provided, `release ${release.to.slice(0, 12)}`);
  let fromFiles: string[] | null = [];
  let fromGraph: DependencyGraph = new Map();
  if (release.from !== null) {
    try {
      fromFiles = await releaseFiles(o, release.from);
      fromGraph = await unitGraph(o, units, release.from, fromFiles);
    } catch {
      // The old release is not in this clone: the manifest says what it put there; without one
      // (a state from before manifests, a shallow clone) statuses come from the writes alone.
      fromFiles = recorded ? recorded.map((f) => f.path) : null;
      fromGraph = recorded
        ? await unitGraph(o, units, release.from, fromFiles!, new Map(recorded.map((f) => [f.path, f.blob])))
        : new Map();
    }
  }
  return planUnits({
    match: units.match,
    toFiles,
    fromFiles,
    writes,
    deletes,
    graph,
    fromGraph,
    reloadDependents: units.reloadDependents,
  });
}
