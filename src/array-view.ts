/**
 * An array whose items are made when read, from a source that holds none of them: what the
 * listing's view of its table (diff/listing-view.ts) and the report's path view
 * (plan/path-view.ts) are. To every reader it is an array: `Array.isArray`, indexing,
 * `length`, iteration, the array methods, `JSON.stringify`, `Object.keys`, `util.inspect`. An
 * index read costs a key string (a Proxy's keys are strings); iteration does not. The first
 * write (`sort`, `push`, an assignment) makes it a plain array of the items, then changed as
 * any array is. `structuredClone` cannot copy one (a Proxy): copy it (`[...view]`) first.
 */

/** util.inspect's hook, by its global name: importing node:util loads 6 more of Node's modules. */
const INSPECT = Symbol.for('nodejs.util.inspect.custom');
type Inspect = (value: unknown, options: object) => string;

/** An array index as a property key: digits, no leading zero. */
const INDEX = /^(?:0|[1-9][0-9]{0,15})$/;

/** Each view's read by index (no key string), from its source until its first write, then from its array. */
const readers = new WeakMap<object, (i: number) => unknown>();

/** `list`'s item `i` without a key string when it is a view (arrayView), else null. */
export function viewReader<T>(list: readonly T[]): ((i: number) => T) | null {
  return (readers.get(list) as ((i: number) => T) | undefined) ?? null;
}

/** How a view reads its source; `made` is told of its first write (the source is read no more). */
export interface ViewSource<T> {
  length(): number;
  read(i: number): T;
  made?(): void;
}

/** A view of `source`'s items, each made when read. */
export function arrayView<T>(from: ViewSource<T>): T[] {
  // Empty, its length told by the traps: an array given a length holds a slot per index
  // (3.8 MB of holes at 500,000), whatever the slots hold.
  const target: T[] = [];
  let source: ViewSource<T> | null = from;
  const at = (key: string | symbol): number => {
    if (source === null || typeof key !== 'string' || !INDEX.test(key)) return -1;
    const i = Number(key);
    return i < source.length() ? i : -1;
  };
  /** Iteration without a key string per item (Array.prototype.values reads through `get`). */
  function* items(): Generator<T> {
    const s = source!;
    // Its length asked once: a path view's source is a listing's view, whose `length` is a trap.
    for (let i = 0, n = s.length(); i < n; i++) yield s.read(i);
  }
  /** The first write: the target becomes the array of the items, and the traps its own. */
  const made = (t: T[]): T[] => {
    if (source !== null) {
      const s = source;
      for (let i = 0; i < s.length(); i++) t[i] = s.read(i);
      source = null;
      s.made?.();
    }
    return t;
  };
  // util.inspect shows a proxy's target without its traps: the target answers with the items.
  Object.defineProperty(target, INSPECT, {
    value: (_depth: number, options: object, inspect: Inspect) => inspect([...view], options),
  });
  const view: T[] = new Proxy(target, {
    get(t, key, receiver) {
      if (source !== null) {
        if (key === 'length') return source.length();
        if (key === Symbol.iterator) return items;
      }
      const i = at(key);
      return i >= 0 ? source!.read(i) : Reflect.get(t, key, receiver);
    },
    has: (t, key) => at(key) >= 0 || Reflect.has(t, key),
    ownKeys: (t) =>
      source === null
        ? Reflect.ownKeys(t)
        : [...Array.from({ length: source.length() }, (_, i) => String(i)), ...Reflect.ownKeys(t)],
    getOwnPropertyDescriptor(t, key) {
      // The target's own `length` as the view's: writable, so its value may differ from the target's.
      if (key === 'length' && source !== null)
        return { value: source.length(), writable: true, enumerable: false, configurable: false };
      const i = at(key);
      if (i < 0) return Reflect.getOwnPropertyDescriptor(t, key);
      return { value: source!.read(i), writable: true, enumerable: true, configurable: true };
    },
    set: (t, key, value, receiver) => Reflect.set(made(t), key, value, receiver),
    defineProperty: (t, key, descriptor) => Reflect.defineProperty(made(t), key, descriptor),
    deleteProperty: (t, key) => Reflect.deleteProperty(made(t), key),
    setPrototypeOf: (t, proto) => Reflect.setPrototypeOf(made(t), proto),
    preventExtensions: (t) => Reflect.preventExtensions(made(t)),
  });
  readers.set(view, (i) => (source !== null ? source.read(i) : target[i]));
  return view;
}
