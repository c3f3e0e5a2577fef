/**
 * What a plan starts from: the recorded commit when the repository has it, else
 * the manifest the target's state keeps, else nothing at all (a deliberate
 * `--assume-empty`). Never a guess: with neither commit nor manifest the plan
 * stops, before anything is written, naming the release and the fixes.
 */
import { DiffshipError, GitError } from '../errors.js';
import { diffWith, resolveRelease } from '../diff/diff-releases.js';
import type { GitObjects } from '../diff/git-objects.js';
import type { DiffResult } from '../diff/types.js';
import { diffFromManifest, manifestDelta, manifestNote, type BasisReason } from '../plan/from-manifest.js';
import { catFileBatch } from '../diff/git.js';
import type { ReleaseFile } from '../plan/plan.js';
import { listingOf } from './manifest.js';
import type { ManifestEntry } from '../plan/manifest-types.js';
import type { ManifestDelta } from '../plan/types.js';
import type { TargetState } from './state.js';

export interface BasisOptions {
  repo: string;
  to: string;
  source?: string;
  include?: readonly string[];
  exclude?: readonly string[];
  renames?: boolean;
  /** Plan from the manifest even when the recorded commit is in the repository. */
  fromManifest?: boolean;
  /** Plan as a first deploy, ignoring the recorded release (a deliberate full redeploy). */
  assumeEmpty?: boolean;
  /** The selection changed since the recorded deploy: compare the whole new selection, as a first deploy does. */
  wholeSelection?: boolean;
}

export interface Basis {
  /** The change set the planner gets (`from` is the recorded release, or null). */
  diff: DiffResult;
  /** Every file of the new release when it had to be listed (first deploy, manifest), else null. */
  full: DiffResult | null;
  /** The manifest listing to record after this deploy; null when `delta` says it. */
  listing: readonly ManifestEntry[] | null;
  /** Planned from the recorded commit with a manifest: the manifest's changes (merged when recorded). */
  delta?: ManifestDelta;
  /** How it was planned, when not from the recorded commit: for the plan step and the report. */
  note: string | null;
}

export async function planBasis(
  objects: GitObjects | null,
  state: TargetState | null,
  o: BasisOptions,
  where: string,
): Promise<Basis> {
  const filters = {
    repo: o.repo,
    source: o.source,
    include: o.include,
    exclude: o.exclude,
    renames: o.renames,
  };
  const recorded = state?.release ?? null;
  const listAll = () => diffWith(objects, { ...filters, from: null, to: o.to });
  const asFirstDeploy = async (note: string | null): Promise<Basis> => {
    const diff = await listAll();
    return { diff, full: diff, listing: listingOf(diff.changes), note };
  };
  if (recorded === null || o.assumeEmpty) {
    return asFirstDeploy(
      recorded !== null
        ? `planned as a full redeploy (--assume-empty): release ${recorded} was not used`
        : null,
    );
  }
  const manifest = state?.manifest ?? null;
  // Why the recorded commit can't be diffed against: null when it can.
  const why = o.fromManifest ? 'forced' : await unusable(o.repo, objects, recorded, o.to);
  if (why === null && !o.wholeSelection) {
    const diff = await diffWith(objects, { ...filters, from: recorded, to: o.to });
    // The manifest's lines are not read to plan: the change set is merged into them when recorded.
    if (manifest) return { diff, full: null, listing: null, delta: manifestDelta(diff), note: null };
    const full = await listAll();
    return { diff, full, listing: listingOf(full.changes), note: null };
  }
  if (manifest === null) {
    // A changed selection without a manifest: the whole new selection is compared with the target.
    if (why === null) return asFirstDeploy(null);
    throw missingRelease(where, recorded, why);
  }
  // The manifest is what was shipped, whatever the selection was: the exact basis (the plan
  // step says when the selection changed).
  const full = await listAll();
  const release = releaseMap(full);
  const diff = diffFromManifest(manifest, release, recorded, full.to, full.source);
  return {
    diff,
    full,
    listing: listingOf(full.changes),
    note: why === null ? null : manifestNote(recorded, why),
  };
}

/**
 * Whether a diff from the recorded release would be wrong or impossible: it is
 * gone (`missing`), or one side is a commit and the other a built folder
 * (`kind`: a commit's paths start at `source`, a built tree's at its root).
 */
async function unusable(
  repo: string,
  objects: GitObjects | null,
  recorded: string,
  to: string,
): Promise<BasisReason | null> {
  if (!(await releaseKnown(repo, objects, recorded))) return 'missing';
  const [a, b] = await Promise.all([isCommit(repo, objects, recorded), isCommit(repo, objects, to)]);
  return a === b ? null : 'kind';
}

async function isCommit(repo: string, objects: GitObjects | null, id: string): Promise<boolean> {
  const name = `${id}^{commit}`;
  const [r] = objects ? [await objects.lookup(name)] : await catFileBatch(repo, [name]);
  return r?.found === true;
}

/** Every file of a from-the-empty-tree diff, by path. */
function releaseMap(full: DiffResult): Map<string, ReleaseFile> {
  const release = new Map<string, ReleaseFile>();
  for (const c of full.changes)
    if (c.status !== 'deleted') release.set(c.path, { mode: c.mode, blob: c.blob });
  return release;
}

/** Whether the repository has (or, in a shallow clone, can fetch) the recorded release. */
export async function releaseKnown(
  repo: string,
  objects: GitObjects | null,
  id: string,
  fetchMissing = true,
): Promise<boolean> {
  try {
    await resolveRelease(repo, id, { objects: objects ?? undefined, fetchMissing });
    return true;
  } catch (error) {
    if (error instanceof GitError && error.code === 'E_REF') return false;
    // `status` of a built release from a folder that is no repository: the manifest answers.
    if (error instanceof DiffshipError && error.code === 'E_USAGE') return false;
    throw error;
  }
}

function missingRelease(where: string, recorded: string, why: BasisReason): GitError {
  const because =
    why === 'forced'
      ? `--from-manifest: the state records release ${recorded} but no manifest (written by a diffship before manifests)`
      : why === 'kind'
        ? `the recorded release ${recorded} and this one are not both commits or both built folders, and the state has no manifest to plan from`
        : `the recorded release ${recorded} is not in this repository (force-pushed, rewritten or garbage-collected?) and the state has no manifest to plan from`;
  return new GitError(
    'E_REF',
    `${where}: ${because} — fetch it (git fetch origin ${recorded}), or pass --assume-empty for a deliberate full redeploy (files already identical are left alone); --from-manifest works once a deploy has recorded a manifest`,
  );
}
