/**
 * `diffReleases`: the change set between two releases (SPEC §1).
 *
 * Tree to tree: two commits are enough, no history or merge base. The happy
 * path asks git twice: one `cat-file --batch` lookup that resolves both refs
 * and reads `.diffshipignore` (a rollout's shared GitObjects process, or a
 * short-lived one), then one `diff-tree` (one per rollout for every target
 * asking the same: shared-diffs.ts).
 */
import { resolve as resolvePath } from 'node:path';
import { GitError } from '../errors.js';
import { classify, countChanges } from './classify.js';
import type { PathFilter } from './classify.js';
import { IGNORE_FILE, parseIgnoreFile } from './ignore.js';
import { catFileBatch, diffTree, emptyTreeId, fetchOne, isShallow, type CatFileResult } from './git.js';
import type { GitObjects } from './git-objects.js';
import { parseRawDiff } from './raw.js';
import { sharedDiff } from './shared-diffs.js';
import { isFetchableRef, isFullOid, normalizeRef, normalizeSource, quote, type RefRole } from './ref.js';
import type { DiffOptions, DiffResult } from './types.js';

/**
 * Compute the change set between two releases of a repository.
 *
 * @example
 * const diff = await diffReleases({ repo: '.', from: 'v1.3.0', to: 'v1.4.0', source: 'workflows' });
 * for (const change of diff.changes) console.log(change.status, change.path);
 *
 * @throws GitError E_REF when a ref is option-like, unknown, or missing from a shallow clone
 *   that can't fetch it; DiffshipError E_CONFIG for a bad source folder, ignore file or name;
 *   E_USAGE when `repo` is not a git repository; E_GIT when git itself fails.
 */
export async function diffReleases(options: DiffOptions = {}): Promise<DiffResult> {
  return diffWith(null, options);
}

/**
 * Look up object names: through a shared `git cat-file --batch` when the caller
 * has one (a rollout keeps one per repository), else one short-lived process.
 */
type Lookup = (names: readonly string[]) => Promise<CatFileResult[]>;

function lookupFor(repo: string, objects: GitObjects | null): Lookup {
  return objects
    ? (names) => Promise.all(names.map((n) => objects.lookup(n)))
    : (names) => catFileBatch(repo, names);
}

/**
 * `diffReleases` looking refs and the ignore file up through `objects` (one git
 * process fewer per diff). Its repository must be `options.repo`.
 */
export async function diffWith(objects: GitObjects | null, options: DiffOptions = {}): Promise<DiffResult> {
  const repo = options.repo ?? '.';
  const lookup = lookupFor(repo, objects);
  const from = normalizeRef(options.from, 'from');
  const to = normalizeRef(options.to, 'to') ?? 'HEAD';
  const source = normalizeSource(options.source);
  const wanted: Wanted[] = [{ role: 'to', ref: to }];
  if (from !== null) wanted.push({ role: 'from', ref: from });

  const resolved = await resolveCommits(repo, lookup, wanted, source.prefix, options.fetchMissing ?? true);
  const toOid = resolved.oids.get('to')!;
  const fromOid = from === null ? null : resolved.oids.get('from')!;

  // One more lookup only when the refs needed a fetch; normally the ignore file came with them.
  const ignore =
    resolved.ignoreFile !== undefined
      ? resolved.ignoreFile
      : await readIgnoreFile(lookup, toOid, source.prefix);
  const exclude = [...(options.exclude ?? []), ...(ignore === null ? [] : parseIgnoreFile(ignore))];

  const renames = options.renames ?? true;
  const key = [repo, fromOid, toOid, source.prefix, renames, options.include ?? [], exclude];
  const changes = await sharedDiff(objects, key, async () => {
    const { stdout, stderr } = await diffTree(repo, fromOid ?? emptyTreeId(toOid.length), toOid, {
      renames,
      prefix: source.prefix,
    });
    // git warns (and carries on) when the rename limit stops rename detection.
    for (const line of stderr.split(/\r?\n/)) if (line.trim()) options.logger?.warn(`git: ${line.trim()}`);
    const filter = await pathFilter(options.include ?? [], exclude);
    return classify(parseRawDiff(stdout), { prefix: source.prefix, filter });
  });
  return { from: fromOid, to: toOid, source: source.given, changes, counts: countChanges(changes) };
}

/**
 * Resolve a release ref to its commit id, fetching it by itself in a shallow
 * clone, without diffing anything: a rollout's one up-front check that `--to`
 * names a commit, before any target is touched.
 *
 * @throws GitError E_REF as diffReleases does for a bad `to`.
 */
export async function resolveRelease(
  repo: string,
  ref: string,
  options: { fetchMissing?: boolean; objects?: GitObjects } = {},
): Promise<string> {
  const to = normalizeRef(ref, 'to') ?? 'HEAD';
  const lookup = lookupFor(repo, options.objects ?? null);
  const resolved = await resolveCommits(
    repo,
    lookup,
    [{ role: 'to', ref: to }],
    '',
    options.fetchMissing ?? true,
  );
  return resolved.oids.get('to')!;
}

/** minimatch loads only when there are patterns: most runs have none, and every run pays for a load. */
async function pathFilter(include: readonly string[], exclude: readonly string[]): Promise<PathFilter> {
  if (include.length === 0 && exclude.length === 0) return (path) => path !== IGNORE_FILE;
  const { createPathFilter } = await import('./filter.js');
  return createPathFilter({ include, exclude });
}

interface Wanted {
  role: RefRole;
  ref: string;
}

interface Resolved {
  oids: Map<RefRole, string>;
  /** The ignore file's text when it was read along with the refs (null: no such file), else undefined. */
  ignoreFile: string | null | undefined;
}

const commitOf = (ref: string) => `${ref}^{commit}`;
const ignorePath = (prefix: string) => `${prefix}${IGNORE_FILE}`;

/** Resolve the refs to commit ids, fetching a commit a shallow clone lacks. */
async function resolveCommits(
  repo: string,
  lookup: Lookup,
  wanted: readonly Wanted[],
  prefix: string,
  fetchMissing: boolean,
): Promise<Resolved> {
  // The ignore file rides along, addressed through the `to` ref itself: `<ref>^{commit}:<path>`.
  const names = [...wanted.map((w) => commitOf(w.ref)), `${commitOf(wanted[0]!.ref)}:${ignorePath(prefix)}`];
  const results = await lookup(names);
  const oids = new Map<RefRole, string>();
  const missing: Wanted[] = [];
  wanted.forEach((w, i) => {
    const result = results[i];
    if (result?.found) oids.set(w.role, result.oid);
    else if (result?.ambiguous) {
      throw new GitError(
        'E_REF',
        `${w.role} ref ${quote(w.ref)} is ambiguous; give more characters of the SHA`,
      );
    } else missing.push(w);
  });
  if (missing.length === 0) return { oids, ignoreFile: ignoreText(results[wanted.length]) };
  // A built release (`deploy --dir`) is a tree, named by its full id: it resolves as itself.
  const trees = missing.filter((w) => isFullOid(w.ref));
  const asTree = await lookup(trees.map((w) => `${w.ref}^{tree}`));
  trees.forEach((w, i) => {
    const r = asTree[i];
    if (r?.found && r.oid === w.ref.toLowerCase()) {
      oids.set(w.role, r.oid);
      missing.splice(missing.indexOf(w), 1);
    }
  });
  if (missing.length === 0) return { oids, ignoreFile: undefined };

  const shallow = await isShallow(repo);
  for (const w of missing) oids.set(w.role, await fetchCommit(repo, w, shallow && fetchMissing, shallow));
  return { oids, ignoreFile: undefined };
}

/** A ref that did not resolve: fetch it by itself when that can help, else explain the fix. */
async function fetchCommit(
  repo: string,
  { role, ref }: Wanted,
  mayFetch: boolean,
  shallow: boolean,
): Promise<string> {
  const name = `${role} ref ${quote(ref)}`;
  if (!shallow) {
    throw new GitError(
      'E_REF',
      `${name} is not a commit in this repository; check the name, or fetch it first (git fetch origin ${ref})`,
    );
  }
  const fix = `set fetch-depth: 0 on actions/checkout, or run git fetch origin ${ref} before diffship`;
  if (!mayFetch || !isFetchableRef(ref)) {
    throw new GitError('E_REF', `${name} is not in this shallow clone; ${fix}`);
  }
  // One fetch at a time per repository: git locks `shallow` and every fetch rewrites FETCH_HEAD,
  // and a rollout may diff several targets at once.
  return serialized(resolvePath(repo), () => fetchAndResolve(repo, name, ref, fix));
}

const queues = new Map<string, Promise<unknown>>();

/** Run `task` after every earlier task queued for the same key. */
function serialized<T>(key: string, task: () => Promise<T>): Promise<T> {
  const run = (queues.get(key) ?? Promise.resolve()).then(task, task);
  const settled = run.catch(() => {});
  queues.set(key, settled);
  void settled.then(() => {
    if (queues.get(key) === settled) queues.delete(key);
  });
  return run;
}

async function fetchAndResolve(repo: string, name: string, ref: string, fix: string): Promise<string> {
  // A diff queued before us may have fetched it already.
  const [already] = await catFileBatch(repo, [commitOf(ref)]);
  if (already?.found) return already.oid;
  try {
    await fetchOne(repo, ref);
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    throw new GitError(
      'E_REF',
      `${name} is not in this shallow clone and fetching it failed (${why}); ${fix}`,
      {
        cause: error,
      },
    );
  }
  // A SHA (or a branch git now tracks) resolves by its name; a tag only through FETCH_HEAD.
  const [byName, byFetchHead] = await catFileBatch(repo, [commitOf(ref), commitOf('FETCH_HEAD')]);
  if (byName?.found) return byName.oid;
  if (byFetchHead?.found) return byFetchHead.oid;
  throw new GitError('E_REF', `${name} was fetched from origin but is not a commit; ${fix}`);
}

async function readIgnoreFile(lookup: Lookup, toOid: string, prefix: string): Promise<string | null> {
  const [result] = await lookup([`${toOid}:${ignorePath(prefix)}`]);
  return ignoreText(result);
}

/** Only a blob counts: a folder named `.diffshipignore` adds nothing. */
function ignoreText(result: CatFileResult | undefined): string | null {
  return result?.found && result.type === 'blob' ? result.content.toString('utf8') : null;
}
