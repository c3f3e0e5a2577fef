/**
 * `diffReleases`: the change set between two releases (SPEC §1).
 *
 * Tree to tree: two commits are enough, no history or merge base. The happy
 * path asks git twice: one `cat-file --batch` lookup that resolves both refs
 * and reads `.diffshipignore` (a rollout's shared GitObjects process, or a
 * short-lived one), then one `diff-tree`.
 */
import { resolve as resolvePath } from 'node:path';
import { GitError } from '../errors.js';
import type { ClassifyOptions, PathFilter } from './classify.js';
import { ChangeRecords } from './change-records.js';
import { notIgnoreFile, parseIgnoreFile } from './ignore.js';
import { commitOf, commitTree, ignorePath, refLookups } from './requests.js';
import {
  catFileBatch,
  emptyTreeId,
  fetchOne,
  isShallow,
  startDiffTree,
  startTreeListing,
  type PendingDiffTree,
  type CatFileResult,
} from './git.js';
import { guessPair } from './ref-guess.js';
import { listingAsRaw } from './tree-listing.js';
import { startSpooledListing } from './spooled-listing.js';
import type { GitObjects } from './git-objects.js';
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
  // diff-tree even for a listing: the CLI's `diff` starts it before it loads (cli/diff-early.ts).
  return diffWith(null, options, false);
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
 * process fewer per diff). Its repository must be `options.repo`. A listing (no
 * `from`: a first deploy's plan, a manifest basis) comes from ls-tree unless
 * `lsTree` is false: diff-tree from the empty tree holds every pair (188 MB of
 * git at 500,000 files, against 49 MB).
 */
export async function diffWith(
  objects: GitObjects | null,
  options: DiffOptions = {},
  lsTree = true,
): Promise<DiffResult> {
  const compute = async (): Promise<DiffResult> => {
    let sink: ChangeRecords | undefined;
    // The records are parsed as they come; git's bytes are not kept besides. A listing's come from
    // ls-tree (rawDiff passes them on as ls-tree writes them): rewritten as diff-tree's first.
    const listing = lsTree && normalizeRef(options.from, 'from') === null;
    const records = (c: ClassifyOptions): RecordSink => {
      // A listing's files are kept in a table, its changes a view of it (listing-view.ts): a
      // first deploy holds 500,000.
      const changes = (sink = new ChangeRecords(c, listing));
      if (!listing) return changes;
      const raw = listingAsRaw((chunk) => changes.push(chunk));
      return { push: (chunk) => raw.push(chunk), end: () => (raw.end(), changes.end()) };
    };
    const raw = await rawDiff(objects, options, records, false, lsTree);
    return { from: raw.from, to: raw.to, source: raw.source, changes: sink!.sorted(), counts: sink!.counts };
  };
  // Shared across a rollout's targets only when both ends are commit ids: a ref name may move.
  const { from, to } = options;
  if (objects === null || !to || !isFullOid(to) || (from && !isFullOid(from))) return compute();
  const key = [
    resolvePath(options.repo ?? '.'),
    from ?? null,
    to,
    options.source ?? '',
    // A listing (no `from`) finds no renames either way: one key for both.
    from ? (options.renames ?? true) : false,
    options.include ?? [],
    options.exclude ?? [],
  ];
  return sharedDiff(objects, key, compute);
}

/** git's raw answer for a diff, with what it takes to classify it (prefix and filter). */
export interface RawDiff extends ClassifyOptions {
  from: string | null;
  to: string;
  source: string;
  /** `git diff-tree -r -z --raw` output. */
  stdout: Buffer;
}

/** Takes git's raw output as it arrives (ChangeRecords, a RawStream, or the CLI's CompactJson). */
export interface RecordSink {
  push(chunk: Buffer): void;
  end(): void;
}

/**
 * Resolve the refs, read the ignore file, run `git diff-tree`. With `records`,
 * git's output goes to the sink it makes as soon as git has written it (parsing
 * overlaps git's output); without, the caller parses `stdout`.
 */
export async function rawDiff(
  objects: GitObjects | null,
  options: DiffOptions,
  records?: (c: ClassifyOptions) => RecordSink,
  /** False: `records` takes everything, and `stdout` comes back empty. */
  keepStdout = true,
  /**
   * With no `from`: list with ls-tree (git.ts startTreeListing), not diff-tree from the empty tree;
   * the sink then gets ls-tree's records. 'spooled': through a temporary file, started at once
   * when `to` is a full id (spooled-listing.ts: the release check's listing).
   */
  lsTree: boolean | 'spooled' = false,
): Promise<RawDiff> {
  const repo = options.repo ?? '.';
  const lookup = lookupFor(repo, objects);
  const from = normalizeRef(options.from, 'from');
  const to = normalizeRef(options.to, 'to') ?? 'HEAD';
  const source = normalizeSource(options.source);
  const wanted: Wanted[] = [{ role: 'to', ref: to }];
  if (from !== null) wanted.push({ role: 'from', ref: from });

  // Starting a process blocks this thread until git runs: the one on the critical path starts first.
  // With commits read from the ref files that is git diff-tree, which compares them at once; else the
  // lookups, whose answer diff-tree waits for (its start then overlaps them).
  const listing = lsTree !== false && from === null;
  const guess = listing ? null : guessPair(repo, from, to);
  // A spooled listing of a full id starts now, before the lookups say its tree (checked below).
  const spoolEarly = listing && lsTree === 'spooled' && isFullOid(to) ? to : undefined;
  // A listing (no `from`) has nothing to find renames in: the same command as the shared key says.
  const renames = from !== null && (options.renames ?? true);
  const startDiff = (): PendingDiffTree & { listed?: () => string | null } =>
    !listing
      ? startDiffTree(repo, { renames, prefix: source.prefix }, guess)
      : lsTree === 'spooled'
        ? startSpooledListing(repo, source.prefix, spoolEarly)
        : startTreeListing(repo, source.prefix);
  const early = guess !== null || spoolEarly !== undefined ? startDiff() : null;
  const resolving = resolveCommits(repo, lookup, wanted, source.prefix, options.fetchMissing ?? true);
  resolving.catch(() => {}); // awaited below; a failure is not unhandled meanwhile
  let diffTree = early ?? startDiff();
  let resolved: Resolved;
  let ignore: string | null;
  let filter: PathFilter;
  try {
    resolved = await resolving;
    // One more lookup only when the refs needed a fetch; normally the ignore file came with them.
    ignore =
      resolved.ignoreFile !== undefined
        ? resolved.ignoreFile
        : await readIgnoreFile(lookup, resolved.oids.get('to')!, source.prefix);
    const exclude = [...(options.exclude ?? []), ...(ignore === null ? [] : parseIgnoreFile(ignore))];
    filter = await pathFilter(options.include ?? [], exclude);
    await treesOf(lookup, resolved);
  } catch (error) {
    diffTree.cancel();
    throw error;
  }
  const toOid = resolved.oids.get('to')!;
  // Listed early by another id than the commit resolved (a tag's, say): listed again, by its tree.
  if (spoolEarly !== undefined && diffTree.listed?.() !== toOid) {
    diffTree.cancel();
    diffTree = startSpooledListing(repo, source.prefix);
  }
  const fromOid = from === null ? null : resolved.oids.get('from')!;
  const fromTree = from === null ? emptyTreeId(toOid.length) : resolved.trees.get('from')!;
  const sink = records?.({ prefix: source.prefix, filter });
  const output = await diffTree.run(
    fromTree,
    resolved.trees.get('to')!,
    sink && ((chunk) => sink.push(chunk)),
    keepStdout,
    // Both commits found by the first lookup (no fetch meanwhile, no tree refs): a guess for them may be kept.
    fromOid !== null && resolved.ignoreFile !== undefined ? { from: fromOid, to: toOid } : null,
  );
  sink?.end();
  // git warns (and carries on) when the rename limit stops rename detection.
  for (const line of output.stderr.split(/\r?\n/))
    if (line.trim()) options.logger?.warn(`git: ${line.trim()}`);
  return {
    from: fromOid,
    to: toOid,
    source: source.given,
    prefix: source.prefix,
    filter,
    // Read only by a caller that did not stream (or must start over): joined then.
    get stdout() {
      return output.stdout;
    },
  };
}

/** Fill in the trees the commit lookups did not bring (a fetched commit): one more lookup. */
async function treesOf(lookup: Lookup, resolved: Resolved): Promise<void> {
  const roles = [...resolved.oids.keys()].filter((role) => !resolved.trees.has(role));
  if (roles.length === 0) return;
  const results = await lookup(roles.map((role) => `${resolved.oids.get(role)!}^{tree}`));
  roles.forEach((role, i) => {
    const r = results[i];
    if (!r?.found) throw new GitError('E_GIT', `git cat-file found no tree for ${resolved.oids.get(role)!}`);
    resolved.trees.set(role, r.oid);
  });
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
  if (include.length === 0 && exclude.length === 0) return notIgnoreFile;
  const { createPathFilter } = await import('./filter.js');
  return createPathFilter({ include, exclude });
}

interface Wanted {
  role: RefRole;
  ref: string;
}

interface Resolved {
  oids: Map<RefRole, string>;
  /** The tree of each commit in `oids`, where its lookup brought it (else treesOf fills it in). */
  trees: Map<RefRole, string>;
  /** The ignore file's text when it was read along with the refs (null: no such file), else undefined. */
  ignoreFile: string | null | undefined;
}

/** Resolve the refs to commit ids, fetching a commit a shallow clone lacks. */
async function resolveCommits(
  repo: string,
  lookup: Lookup,
  wanted: readonly Wanted[],
  prefix: string,
  fetchMissing: boolean,
): Promise<Resolved> {
  // The ignore file rides along, addressed through the `to` ref itself: `<ref>^{commit}:<path>`.
  const results = await lookup(
    refLookups(
      wanted.map((w) => w.ref),
      prefix,
    ),
  );
  const oids = new Map<RefRole, string>();
  const trees = new Map<RefRole, string>();
  const missing: Wanted[] = [];
  wanted.forEach((w, i) => {
    const result = results[i];
    if (result?.found) {
      oids.set(w.role, result.oid);
      const tree = commitTree(result.content);
      if (tree !== undefined) trees.set(w.role, tree);
    } else if (result?.ambiguous) {
      throw new GitError(
        'E_REF',
        `${w.role} ref ${quote(w.ref)} is ambiguous; give more characters of the SHA`,
      );
    } else missing.push(w);
  });
  if (missing.length === 0) return { oids, trees, ignoreFile: ignoreText(results[wanted.length]) };
  // A built release (`deploy --dir`) is a tree, named by its full id: it resolves as itself.
  const treeRefs = missing.filter((w) => isFullOid(w.ref));
  const asTree = await lookup(treeRefs.map((w) => `${w.ref}^{tree}`));
  treeRefs.forEach((w, i) => {
    const r = asTree[i];
    if (r?.found && r.oid === w.ref.toLowerCase()) {
      oids.set(w.role, r.oid);
      trees.set(w.role, r.oid);
      missing.splice(missing.indexOf(w), 1);
    }
  });
  if (missing.length === 0) return { oids, trees, ignoreFile: undefined };

  const shallow = await isShallow(repo);
  for (const w of missing) oids.set(w.role, await fetchCommit(repo, w, shallow && fetchMissing, shallow));
  return { oids, trees, ignoreFile: undefined };
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
