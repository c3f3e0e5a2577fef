/**
 * A report's list of paths read from the changes that name them, each string made when read.
 *
 * Why: a first deploy's report lists every file of the release under `changes.added`. Its
 * changes keep their paths front-coded outside the heap (diff/path-column.ts); an array of
 * their strings would hold ~60 bytes of heap a path (30 MB at 500,000 files) for the whole
 * run, for a list most runs only count. The view is a `string[]` to every reader:
 * `Array.isArray`, indexing, `length`, iteration, the array methods, `JSON.stringify`,
 * `Object.keys`, `util.inspect`. The first write (`sort`, `push`, an assignment) makes it a
 * plain array of the strings, then changed as any array is. `structuredClone` cannot copy a
 * view (a Proxy): `plainChanges` gives a copy with its paths as a plain array.
 */
import type { TargetChanges } from '../report/types.js';
import { indexReader } from '../diff/listing-view.js';

/** util.inspect's hook, by its global name: importing node:util loads 6 more of Node's modules. */
const INSPECT = Symbol.for('nodejs.util.inspect.custom');
type Inspect = (value: unknown, options: object) => string;

const views = new WeakSet<object>();
/** An array index as a property key: digits, no leading zero. */
const INDEX = /^(?:0|[1-9][0-9]{0,15})$/;

/** The paths of `items`, in their order, read when asked. */
export function pathView(items: readonly { readonly path: string }[]): string[] {
  // Empty, its length told by the traps: an array given a length of 500,000 holds a slot for each
  // (3.8 MB of holes), whatever the slots hold.
  const target: string[] = [];
  /** The changes read from, until the first write makes the target hold the strings. */
  let source: readonly { readonly path: string }[] | null = items;
  // By index without a key string when the items are a listing's view (diff/listing-view.ts).
  const item = indexReader(items);
  const at = (key: string | symbol): number => {
    if (source === null || typeof key !== 'string' || !INDEX.test(key)) return -1;
    const i = Number(key);
    return i < source.length ? i : -1;
  };
  /** The first write: the target becomes the array of the strings, and the traps its own. */
  const made = (t: string[]): string[] => {
    if (source !== null) {
      for (let i = 0; i < source.length; i++) t[i] = item(i).path;
      source = null;
    }
    return t;
  };
  // util.inspect shows a proxy's target without its traps: the target answers with the paths.
  Object.defineProperty(target, INSPECT, {
    value: (_depth: number, options: object, inspect: Inspect) => inspect([...view], options),
  });
  const view: string[] = new Proxy(target, {
    get(t, key, receiver) {
      if (key === 'length' && source !== null) return source.length;
      const i = at(key);
      return i >= 0 ? item(i).path : Reflect.get(t, key, receiver);
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
      return { value: item(i).path, writable: true, enumerable: true, configurable: true };
    },
    set: (t, key, value, receiver) => Reflect.set(made(t), key, value, receiver),
    defineProperty: (t, key, descriptor) => Reflect.defineProperty(made(t), key, descriptor),
    deleteProperty: (t, key) => Reflect.deleteProperty(made(t), key),
    setPrototypeOf: (t, proto) => Reflect.setPrototypeOf(made(t), proto),
    preventExtensions: (t) => Reflect.preventExtensions(made(t)),
  });
  views.add(view);
  return view;
}

/** `changes` with its added paths as a plain array when they are a view (for `structuredClone`). */
export function plainChanges(changes: TargetChanges): TargetChanges {
  return views.has(changes.added) ? { ...changes, added: [...changes.added] } : changes;
}
