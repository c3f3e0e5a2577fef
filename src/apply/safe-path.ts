/**
 * No symlink on the target path is ever followed (SPEC §3 "Safety"). Before a
 * deploy writes or deletes `a/b/c`, every parent (`a`, `a/b`) must be a real
 * folder or absent. The release itself cannot hold `..` or absolute paths (git
 * refuses them) and transports reject them too; this covers links planted on
 * the target, e.g. `a -> /etc`.
 */
import { aType } from '../entry-type.js';
import { posix } from 'node:path';
import { TransportError } from '../errors.js';
import type { Entry, Transport } from '../transport/transport.js';

/** Every proper parent of a relative path, shallowest first: `a/b/c` → `a`, `a/b`. */
export function parentsOf(rel: string): string[] {
  const parts = rel.split('/');
  const out: string[] = [];
  for (let i = 1; i < parts.length; i++) out.push(parts.slice(0, i).join('/'));
  return out;
}

/** How many folders deep `rel` is: its count of `/` (no array per path, as a split makes). */
export function depthOf(rel: string): number {
  let depth = 0;
  for (let at = rel.indexOf('/'); at >= 0; at = rel.indexOf('/', at + 1)) depth++;
  return depth;
}

/**
 * `paths` grouped by depth, the deepest group first. Duplicates are dropped (a set of them all),
 * or, with `sorted` (paths in any path order, where a repeat is next to its first), by comparing
 * each with the one before: 300,000 strays deleted hold no set of their paths.
 */
export function byDepthDeepestFirst(paths: Iterable<string>, sorted = false): string[][] {
  const levels = new Map<number, string[]>();
  let last: string | undefined;
  for (const p of sorted ? paths : new Set(paths)) {
    if (p === last) continue;
    last = p;
    const depth = depthOf(p);
    const level = levels.get(depth);
    if (level) level.push(p);
    else levels.set(depth, [p]);
  }
  return [...levels.keys()].sort((a, b) => b - a).map((depth) => levels.get(depth)!);
}

/** The folders of `dirs` no other one is inside: mkdir -p of them makes every one. */
export function deepestFolders(dirs: Iterable<string>): string[] {
  const all = new Set(dirs);
  const above = allParents(all);
  return [...all].filter((d) => !above.has(d));
}

/** Every proper parent of `paths`, once: a folder already seen answers for all above it. */
export function allParents(paths: Iterable<string>): Set<string> {
  const seen = new Set<string>();
  for (const p of paths)
    for (let dir = posix.dirname(p); dir !== '.' && !seen.has(dir); dir = posix.dirname(dir)) seen.add(dir);
  return seen;
}

export interface ParentReport {
  /** Parents that do not exist yet, shallowest first: the deploy creates them. */
  missing: string[];
  /** Parents that exist as files (or links) that this deploy deletes first. */
  replaced: string[];
}

/**
 * Parents looked at in one go, all depths together: an update's few folders, not a first
 * deploy's thousands of new ones (below a missing folder, depth by depth asks for nothing).
 */
const AT_ONCE = 256;

/**
 * The folders checkParents will look at for `paths`, when it looks at all of them in its first
 * go (up to AT_ONCE); null for more. A caller that knows the plan before it takes the lock asks
 * for them behind the lock (session.ts `lookAhead`): the check is then answered from that look.
 */
export function parentsToLook(paths: Iterable<string>): string[] | null {
  const parents = [...allParents(paths)];
  return parents.length <= AT_ONCE ? parents : null;
}

/**
 * Check the parents of `paths`. `deletes`: the paths this deploy removes: a file in the way of
 * a new folder is fine when the release deletes it. Only those among the parents are kept (an
 * authoritative deploy may delete 300,000 strays: no set of them all).
 */
export async function checkParents(
  t: Transport,
  paths: Iterable<string>,
  deletes: Iterable<string>,
): Promise<ParentReport> {
  const above = allParents(paths);
  const deleting = new Set<string>();
  if (above.size > 0) for (const p of deletes) if (above.has(p)) deleting.add(p);
  const parents = [...above].sort((a, b) => depthOf(a) - depthOf(b));
  const types = new Map<string, string | null>();
  const missing: string[] = [];
  const replaced: string[] = [];
  // The folders of one depth whose parent is a real folder are looked at together (one round
  // trip over SSH, not one per folder); a missing or replaced one answers for everything below it.
  // Up to AT_ONCE parents are all looked at in the first go, each depth before the one above it is
  // known to be a folder (one wait instead of one per depth); what is then below a missing, replaced
  // or linked folder was looked at for nothing, and its answer is not used.
  const atOnce = parents.length <= AT_ONCE;
  const seen = new Map<string, Promise<Entry | null>>();
  const look = (depth: number) => {
    for (const dir of parents) {
      if ((!atOnce && depthOf(dir) !== depth) || seen.has(dir)) continue;
      const up = posix.dirname(dir);
      if (!atOnce && (up === '.' ? 'dir' : types.get(up)) !== 'dir') continue;
      const entry = t.lstat(dir);
      entry.catch(() => undefined); // one refused below leaves the others unawaited: no unhandled rejection
      seen.set(dir, entry);
    }
  };
  for (const dir of parents) {
    const up = posix.dirname(dir);
    const upType = up === '.' ? 'dir' : types.get(up);
    if (upType !== 'dir') {
      types.set(dir, null);
      missing.push(dir);
      continue;
    }
    if (!seen.has(dir)) look(depthOf(dir));
    const entry = await seen.get(dir)!;
    const type = entry?.type ?? null;
    if (type === 'symlink' && !deleting.has(dir)) {
      throw new TransportError(
        'E_UNSAFE',
        `${t.description}: ${dir} is a symlink; diffship never writes through links on a target — replace it with a real folder, or add it to protect`,
      );
    }
    if (type !== null && type !== 'dir') {
      if (!deleting.has(dir)) {
        throw new TransportError(
          'E_UNSAFE',
          `${t.description}: ${dir} is ${aType(type)}, but the release needs a folder there — remove it, or deploy in authoritative mode`,
        );
      }
      replaced.push(dir);
      types.set(dir, null);
      missing.push(dir);
      continue;
    }
    types.set(dir, type);
    if (type === null) missing.push(dir);
  }
  return { missing, replaced };
}

/**
 * Look at every parent of `rel`, shallowest first, right before it is changed
 * (rollback, crash recovery and pruning do this as apply does): 'ok' when all
 * are real folders, 'missing' when one is absent (nothing below it to touch; with
 * `fileIsMissing`, also when one is a regular file).
 * A link, or any other non-folder, above the path is refused with E_UNSAFE:
 * diffship never removes or writes through one.
 */
export async function parentsAreFolders(
  t: Transport,
  rel: string,
  options: { fileIsMissing?: boolean } = {},
): Promise<'ok' | 'missing'> {
  for (const dir of parentsOf(rel)) {
    const entry = await t.lstat(dir);
    if (entry === null) return 'missing';
    // Nothing can be below a regular file (a link is another matter: it is never followed).
    if (entry.type === 'file' && options.fileIsMissing) return 'missing';
    if (entry.type !== 'dir') {
      throw new TransportError(
        'E_UNSAFE',
        `${t.description}: ${dir} is ${aType(entry.type)}, so diffship will not touch ${rel} below it — replace it with a real folder, or remove it`,
      );
    }
  }
  return 'ok';
}
