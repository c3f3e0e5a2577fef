/**
 * A backup's links: each path a deploy replaces or deletes looked at and, for a file,
 * hard-linked into the backup's files/ (copied where the host keeps no hard links), many at
 * a time where the transport can (keepMany). backup.ts writes what they found as the backup's
 * listing.
 */
import type { Transport } from '../transport/transport.js';
import { copyOnTarget } from './target-copy.js';
import { forEachLimit } from '../pool.js';
import { MANY_IN_FLIGHT, MANY_PATHS } from './in-flight.js';

export type RestoreEntry =
  | { path: string; action: 'restore'; type: 'file'; mode: number; file: string }
  | { path: string; action: 'restore'; type: 'symlink'; linkTarget: string };
export type BackupEntry = { path: string; action: 'remove' } | RestoreEntry;

/**
 * Back up the paths at `indices`: many at once where the transport can (keepMany: an
 * authoritative deploy deleting 200,000 strays over SSH did an lstat and a link per path, a
 * record, a promise and an answer each), else one by one (backupEntry). `held` gets each
 * path's entry.
 */
export async function keepAll(
  t: Transport,
  dir: string,
  indices: Uint32Array,
  lanes: number,
  pathOf: (i: number) => string,
  to: { expected: (path: string) => boolean; held: (i: number, e: BackupEntry) => void },
): Promise<void> {
  const one = async (i: number): Promise<void> => {
    const path = pathOf(i);
    to.held(i, await backupEntry(t, dir, path, i, to.expected(path)));
  };
  const keepMany = t.keepMany?.bind(t);
  if (!keepMany || indices.length < 2) return forEachLimit(indices, lanes, one);
  const starts: number[] = [];
  for (let at = 0; at < indices.length; at += MANY_PATHS) starts.push(at);
  await forEachLimit(starts, MANY_IN_FLIGHT, async (at) => {
    const some = indices.subarray(at, at + MANY_PATHS);
    const items = Array.from(some, (i) => ({ path: pathOf(i), name: String(i) }));
    const kept = await keepMany(`${dir}/files`, items);
    if (kept === null) return forEachLimit(some, lanes, one); // not here after all: path by path
    const copies: number[] = [];
    kept.forEach((k, n) => {
      const i = some[n]!;
      const path = items[n]!.path;
      if (k.kind === 'symlink')
        to.held(i, { path, action: 'restore', type: 'symlink', linkTarget: k.linkTarget });
      else if (k.kind !== 'file') to.held(i, { path, action: 'remove' });
      else {
        to.held(i, { path, action: 'restore', type: 'file', mode: k.mode & 0o777, file: `files/${i}` });
        if (!k.linked) copies.push(n);
      }
    });
    // Where the host keeps no hard links (another file system): copied, as backupEntry does.
    await forEachLimit(copies, lanes, (n) => {
      const k = kept[n] as { mode: number };
      return copyOnTarget(t, items[n]!.path, `${dir}/files/${some[n]!}`, restoreMode(k.mode), {
        sync: false,
      });
    });
  });
}

/** The backup of one path that may exist: its link text, or its file hard-linked (copied) to `files/<i>`. */
async function backupEntry(
  t: Transport,
  dir: string,
  path: string,
  i: number,
  expected: boolean,
): Promise<BackupEntry> {
  const file = `files/${i}`;
  const kept = `${dir}/${file}`;
  // A hard link is free and keeps the old bytes: the deploy renames a new inode over the path. For
  // a file the plan saw there (`expected`) it is asked with the lstat, not after it (over SSH in the
  // same turn: one wait for the host fewer); the lstat decides what counts. Of anything but a file
  // (a link's own inode) it is removed again. undefined: not asked; null: failed, the lstat tells.
  const [entry, linked] = await Promise.all([
    t.lstat(path),
    expected ? t.link(path, kept).catch(() => null) : undefined,
  ]);
  if (entry === null || entry.type === 'dir' || entry.type === 'symlink') {
    const [linkTarget] = await Promise.all([
      entry?.type === 'symlink' ? t.readlink(path) : undefined,
      linked ? t.unlink(kept) : undefined,
    ]);
    if (linkTarget === undefined) return { path, action: 'remove' };
    return { path, action: 'restore', type: 'symlink', linkTarget };
  }
  // A file not linked yet, or the link failed on: asked (again) alone, its own error the one told.
  if (linked === undefined || linked === null ? !(await t.link(path, kept)) : !linked) {
    await copyOnTarget(t, path, kept, restoreMode(entry.mode), { sync: false });
  }
  return { path, action: 'restore', type: 'file', mode: entry.mode & 0o777, file };
}

/**
 * The mode a restored file gets: permission bits only, never setuid, setgid or
 * sticky, and no group or world write (a release can hold only 0644 and 0755).
 */
export function restoreMode(recorded: number): number {
  return recorded & 0o755;
}
