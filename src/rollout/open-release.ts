/**
 * The release a rollout ships, settled before any target is touched: a built
 * folder hashed into a tree, or the ref resolved once (fetching it in a shallow
 * clone); then the selection checked against it, so a typo in `source` or
 * `include` never "succeeds" with nothing shipped. Anything wrong here throws
 * (exit 2) with the one git reader closed.
 */
import { join } from 'node:path';
import type { ResolvedConfig } from '../config/types.js';
import { buildRelease } from '../diff/build-release.js';
import { resolveRelease } from '../diff/diff-releases.js';
import type { Change } from '../diff/types.js';
import { summarizeRelease, type ReleaseSummary } from '../diff/release-summary.js';
import { GitObjects } from '../diff/git-objects.js';
import { selectionProblem } from '../diff/selection.js';
import { DiffshipError } from '../errors.js';
import { RELEASE_NAME } from '../config/placeholders.js';
import type { Logger } from '../log.js';
import { unlessCancelled } from '../cancelled.js';
import {
  checkOutsideLinks,
  describeOutsideLinks,
  findOutsideLinks,
  type OutsideLink,
} from '../plan/outside-links.js';

export interface OpenedRelease {
  /** The repository the objects are in (a private store for a built folder outside one). */
  repo: string;
  /** The release id: a commit, or a built folder's tree id; '' for `rollback`. */
  to: string;
  /** One git process answers every lookup of the run: the ref, each target's diff, the blobs. */
  objects: GitObjects;
  /** Release symlinks pointing outside the release (shipped as git holds them, with a warning). */
  outsideLinks: OutsideLink[];
}

export interface ReleaseRequest {
  config: ResolvedConfig;
  log: Logger;
  command: 'deploy' | 'plan' | 'rollback';
  repo: string;
  to?: string;
  dir?: string;
  /** Inserted into `{release}` unquoted: only names a shell treats as one plain word. */
  releaseName?: string;
  /** Cancelled: the release checks are not waited for (no target starts anyway). */
  signal?: AbortSignal;
}

/** The release resolved, its checks still running: `checked` says its outside links, or rejects. */
export interface StartedRelease extends Omit<OpenedRelease, 'outsideLinks'> {
  /** Rejects (E_CONFIG) when the selection or a symlink is refused; the caller closes `objects` then. */
  checked: Promise<OutsideLink[]>;
}

/**
 * The release resolved (a bad ref throws here, the git reader closed); its checks are
 * started, and `checked` settles when they end: the caller may read the targets meanwhile
 * (rollout/early-preflight.ts), but touches none before `checked` resolved.
 */
export async function openRelease(r: ReleaseRequest): Promise<StartedRelease> {
  if (r.releaseName !== undefined && !RELEASE_NAME.test(r.releaseName))
    throw new DiffshipError(
      'E_USAGE',
      `releaseName ${JSON.stringify(r.releaseName)}: give 1–200 letters, digits and . _ + @ : = - (starting with a letter or digit)`,
    );
  let { repo } = r;
  let to = '';
  if (r.command !== 'rollback' && r.dir !== undefined) {
    // A built folder becomes a tree (in the repository, or a private store next to the config).
    const built = await buildRelease({
      dir: r.dir,
      repo,
      cacheDir: join(r.config.baseDir, '.diffship-cache'),
    });
    repo = built.repo;
    to = built.tree;
  }
  const objects = new GitObjects(repo);
  try {
    if (r.command !== 'rollback' && r.dir === undefined)
      to = await resolveRelease(repo, r.to ?? 'HEAD', { objects });
  } catch (error) {
    objects.close();
    throw error;
  }
  const checked = r.command === 'rollback' ? Promise.resolve([]) : releaseChecks(r, repo, to, objects);
  // Awaited by the caller, maybe only after other work: never an unhandled rejection meanwhile.
  checked.catch(() => undefined);
  return { repo, to, objects, checked };
}

/** The selection's and the symlinks' checks over one listing of the release. */
async function releaseChecks(
  r: ReleaseRequest,
  repo: string,
  to: string,
  objects: GitObjects,
): Promise<OutsideLink[]> {
  // A built folder is the release's root: the config's `source` does not apply to it.
  const source = r.dir !== undefined ? '.' : r.config.source;
  const { include, exclude } = r.config;
  // The selected files, listed once for both checks (a git process over the whole release),
  // counted and their symlinks kept: no object per file (diff/release-summary.ts).
  let listed: Promise<ReleaseSummary> | undefined;
  const summary = () => (listed ??= summarizeRelease(objects, { repo, to, source, include, exclude }));
  const checks = async () => {
    if (r.dir === undefined)
      await checkSelection(r.config, repo, to, objects, async () => (await summary()).files);
    return checkLinks(r, { repo, source, to }, objects, async () => (await summary()).links);
  };
  // Listing 500,000 files takes seconds: a cancellation does not wait for it (no target starts).
  return (await unlessCancelled(checks(), r.signal)) ?? [];
}

/** `symlinks: refuse-outside` stops here (exit 2); otherwise links out of the release are shipped, with a warning. */
async function checkLinks(
  r: ReleaseRequest,
  { repo, source, to }: { repo: string; source: string; to: string },
  objects: GitObjects,
  symlinks: () => Promise<readonly Change[]>,
) {
  const { config } = r;
  const links = await findOutsideLinks(
    objects,
    to,
    { repo, source, include: config.include, exclude: config.exclude },
    symlinks,
  );
  checkOutsideLinks(links, config.symlinks);
  if (links.length > 0) r.log.warn(`${describeOutsideLinks(links)} (shipped as git holds them)`);
  return links;
}

/** Throws E_CONFIG when the selection is no part of the release (see diff/selection.ts). */
async function checkSelection(
  config: ResolvedConfig,
  repo: string,
  to: string,
  objects: GitObjects,
  fileCount: () => Promise<number>,
) {
  const problem = await selectionProblem(objects, {
    fileCount,
    repo,
    to,
    source: config.source,
    include: config.include,
    exclude: config.exclude,
    allowEmpty: config.allowEmpty,
  });
  if (problem !== null) throw new DiffshipError('E_CONFIG', problem);
}
