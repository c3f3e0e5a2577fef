/**
 * A release listing's files (listed-files.ts) as a `Change[]` that holds none of them: each
 * file's object is made when it is read, and dropped young.
 *
 * Why: a first deploy's diff lists every file of the release, and its plan writes them all.
 * An object per file and an array slot for it held 40 bytes of heap a file for the whole run
 * (20 MB at 500,000 files), with V8's old space sized to them. The readers that go through
 * every file (plan, staging, manifest, backup) read the table by index instead
 * (`listedTable`, write-columns.ts) and make no object at all; any other reader sees an array:
 * `Array.isArray`, indexing, `length`, iteration, the array methods, `JSON.stringify`. An
 * index read through the view costs a key string and an object: kept off the paths that read
 * every file. The first write (`sort`, `push`, an assignment) makes it a plain array of the
 * files' objects, then changed as any array is.
 */
import type { AddedChange } from './types.js';
import type { ListedFiles } from './listed-files.js';

/** util.inspect's hook, by its global name: importing node:util loads 6 more of Node's modules. */
const INSPECT = Symbol.for('nodejs.util.inspect.custom');
type Inspect = (value: unknown, options: object) => string;

/** Each view's table, while the view still reads from it (until its first write). */
const tables = new WeakMap<object, ListedFiles>();
/** An array index as a property key: digits, no leading zero. */
const INDEX = /^(?:0|[1-9][0-9]{0,15})$/;

/** The table behind `list` when it is a listing's view still read from its table, else null. */
export function listedTable(list: readonly unknown[]): ListedFiles | null {
  return tables.get(list) ?? null;
}

/**
 * Item `i` of `list` without a key string: a listing view's file made from its table, else the
 * array's item. For the readers that go through every file by index (staging, backup, commit).
 */
export function indexReader<T>(list: readonly T[]): (i: number) => T {
  const table = tables.get(list);
  return table ? (i) => table.file(i) as T : (i) => list[i]!;
}

/** The files of `table`, in its order, each object made when read. */
export function listingView(table: ListedFiles): AddedChange[] {
  // Empty, its length told by the traps: an array given a length holds a slot per index.
  const target: AddedChange[] = [];
  let source: ListedFiles | null = table;
  const at = (key: string | symbol): number => {
    if (source === null || typeof key !== 'string' || !INDEX.test(key)) return -1;
    const i = Number(key);
    return i < source.length ? i : -1;
  };
  /** Iteration without a key string per file (Array.prototype.values reads through `get`). */
  function* files(): Generator<AddedChange> {
    const s = source!;
    for (let i = 0; i < s.length; i++) yield s.file(i);
  }
  /** The first write: the target becomes the array of the objects, and the traps its own. */
  const made = (t: AddedChange[]): AddedChange[] => {
    if (source !== null) {
      for (let i = 0; i < source.length; i++) t[i] = source.file(i);
      source = null;
      tables.delete(view);
    }
    return t;
  };
  Object.defineProperty(target, INSPECT, {
    value: (_depth: number, options: object, inspect: Inspect) => inspect([...view], options),
  });
  const view: AddedChange[] = new Proxy(target, {
    get(t, key, receiver) {
      if (source !== null) {
        if (key === 'length') return source.length;
        if (key === Symbol.iterator) return files;
      }
      const i = at(key);
      return i >= 0 ? source!.file(i) : Reflect.get(t, key, receiver);
    },
    has: (t, key) => at(key) >= 0 || Reflect.has(t, key),
    ownKeys: (t) =>
      source === null
        ? Reflect.ownKeys(t)
        : [...Array.from({ length: source.length }, (_, i) => String(i)), ...Reflect.ownKeys(t)],
    getOwnPropertyDescriptor(t, key) {
      // The target's own `length` as the view's: writable, so its value may differ from the target's.
      if (key === 'length' && source !== null)
        return { value: source.length, writable: true, enumerable: false, configurable: false };
      const i = at(key);
      if (i < 0) return Reflect.getOwnPropertyDescriptor(t, key);
      return { value: source!.file(i), writable: true, enumerable: true, configurable: true };
    },
    set: (t, key, value, receiver) => Reflect.set(made(t), key, value, receiver),
    defineProperty: (t, key, descriptor) => Reflect.defineProperty(made(t), key, descriptor),
    deleteProperty: (t, key) => Reflect.deleteProperty(made(t), key),
    setPrototypeOf: (t, proto) => Reflect.setPrototypeOf(made(t), proto),
    preventExtensions: (t) => Reflect.preventExtensions(made(t)),
  });
  tables.set(view, table);
  return view;
}
