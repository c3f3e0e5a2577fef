import type { Entry, EntryType, WalkEntry } from './transport.js';
import { joinRel } from './rel-path.js';
import { sortByPath } from '../byte-order.js';

/**
 * The tree walk both transports share: each supplies "list one folder with
 * lstat-style attributes" and this drives it over the tree, several folders
 * at a time (that is what makes a 50,000-file walk over SFTP fast: listing
 * requests are pipelined instead of waiting for one folder after another).
 */

export interface DirEntry extends Entry {
  name: string;
}

/** List one folder (relative to the root); null when it does not exist. */
export type ListDir = (rel: string) => Promise<DirEntry[] | null>;

/**
 * Every entry below `start`, folders included, not descending into symlinks
 * (they are reported as `symlink`) nor into `skip` folders (which are left out
 * entirely), sorted by path in byte order.
 */
export async function walkTree(
  listDir: ListDir,
  start: string,
  skip: readonly string[],
  concurrency: number,
): Promise<WalkEntry[]> {
  const skipped = new Set(skip.map((s) => s.replace(/\/+$/, '')));
  if (start !== '' && skipped.has(start)) return [];
  const out: WalkEntry[] = [];
  const pending: string[] = [start];
  let active = 0;
  let failed = false;
  await new Promise<void>((resolve, reject) => {
    const pump = () => {
      while (!failed && active < concurrency && pending.length > 0) {
        const dir = pending.pop() as string;
        active++;
        listDir(dir).then(
          (entries) => {
            active--;
            for (const e of entries ?? []) {
              const path = joinRel(dir, e.name);
              if (skipped.has(path)) continue;
              out.push({ path, type: e.type, mode: e.mode, size: e.size, mtimeMs: e.mtimeMs });
              if (e.type === 'dir') pending.push(path);
            }
            if (active === 0 && pending.length === 0) resolve();
            else pump();
          },
          (error: unknown) => {
            failed = true;
            reject(error);
          },
        );
      }
    };
    pump();
  });
  return sortByPath(out);
}

/** File type from the `S_IFMT` bits of a POSIX mode. */
export function typeFromMode(mode: number): EntryType {
  switch (mode & 0o170000) {
    case 0o100000:
      return 'file';
    case 0o040000:
      return 'dir';
    case 0o120000:
      return 'symlink';
    default:
      return 'other';
  }
}
