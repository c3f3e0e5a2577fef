/**
 * A release listing's files (listed-files.ts) as a `Change[]` that holds none of them: each
 * file's object is made when it is read, and dropped young.
 *
 * Why: a first deploy's diff lists every file of the release, and its plan writes them all.
 * An object per file and an array slot for it held 40 bytes of heap a file for the whole run
 * (20 MB at 500,000 files), with V8's old space sized to them. Any reader sees an array
 * (array-view.ts), but an index read through it costs a key string and an object: the readers
 * that go through every file (plan, staging, backup, commit, manifest) iterate it or read the
 * table by index (`indexReader`), each object dropped young. The first write makes it a plain
 * array of the files' objects.
 */
import type { AddedChange } from './types.js';
import type { ListedFiles } from './listed-files.js';
import { arrayView, viewReader } from '../array-view.js';

/** Each view's table, while the view still reads from it (until its first write). */
const tables = new WeakMap<object, ListedFiles>();

/** The table behind `list` when it is a listing's view still read from its table, else null. */
export function listedTable(list: readonly unknown[]): ListedFiles | null {
  return tables.get(list) ?? null;
}

/**
 * Item `i` of `list` without a key string: a listing view's file made from its table, another
 * view's item from its source (array-view.ts), else the array's item. For the readers that go
 * through every file by index (staging, backup, commit).
 */
export function indexReader<T>(list: readonly T[]): (i: number) => T {
  const table = tables.get(list);
  if (table) return (i) => table.file(i) as T;
  return viewReader(list) ?? ((i) => list[i]!);
}

/** The files of `table`, in its order, each object made when read. */
export function listingView(table: ListedFiles): AddedChange[] {
  const view: AddedChange[] = arrayView({
    length: () => table.length,
    read: (i) => table.file(i),
    made: (): void => void tables.delete(view),
  });
  tables.set(view, table);
  return view;
}
