/**
 * An authoritative plan's deletes (and `changes.deleted`) with its strays: the other items,
 * sorted, and the strays' paths (observed-entries.ts; many kept as a column), merged in byte
 * order when read. Each stray's item is made when read (arrayView): 900,000 strays hold no
 * `DeleteOp` nor a second array of their paths. A write to the list makes it a plain array.
 */
import { arrayView } from '../array-view.js';
import { byteOrder } from '../byte-order.js';
import { PathColumn } from '../diff/path-column.js';

/** Paths read by index: an array of them, or a column (diff/path-column.ts). */
export interface StrayPaths {
  readonly length: number;
  at(i: number): string | undefined;
}

/** Past this many strays, their paths go into a column rather than stay strings. */
const COLUMN_MIN = 4096;

/**
 * The strays a plan deletes, pushed in byte order. Many go into a column: a string each is
 * ~50 bytes of heap for the whole deploy (45 MB at 900,000 strays), a column's record ~10
 * bytes outside it; the strings read from it are made when read, and dropped young.
 */
export function strayList(expected: number): { push(path: string): void; done(): StrayPaths } {
  let paths: string[] = [];
  let column: PathColumn | null = expected > COLUMN_MIN ? new PathColumn() : null;
  return {
    push(path) {
      if (column === null) paths.push(path);
      else if (!column.push(path)) {
        // A path too long for a column (never on Linux, whose paths stop at 4 KiB): strings then.
        paths = Array.from({ length: column.length }, (_, i) => column!.at(i));
        column = null;
        paths.push(path);
      }
    },
    done: () => column ?? paths,
  };
}

/** `sorted` (by path, byte order) and the items of `strays` (sorted), as one list. */
export function withStrays<T>(
  sorted: readonly T[],
  pathOf: (item: T) => string,
  strays: StrayPaths,
  make: (path: string) => T,
): T[] {
  if (strays.length === 0) return sorted as T[];
  // Where each of `sorted` stands in the merged list: a binary search of the strays each (few).
  const at: number[] = [];
  let from = 0;
  for (let j = 0; j < sorted.length; j++) {
    const path = pathOf(sorted[j]!);
    let lo = from;
    let hi = strays.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (byteOrder(strays.at(mid)!, path) < 0) lo = mid + 1;
      else hi = mid;
    }
    from = lo;
    at.push(j + lo);
  }
  const length = sorted.length + strays.length;
  return arrayView({
    length: () => length,
    read(i) {
      // How many of `sorted` stand before i, and whether the one after them is at i.
      let lo = 0;
      let hi = at.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (at[mid]! < i) lo = mid + 1;
        else hi = mid;
      }
      return lo < at.length && at[lo] === i ? sorted[lo]! : make(strays.at(i - lo)!);
    },
  });
}
