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
 * view (a Proxy), and a copy through it reads each path by a key string: `plainChanges` gives
 * a copy with its paths as a plain array.
 */
import type { TargetChanges } from '../report/types.js';
import { indexReader } from '../diff/listing-view.js';
import { arrayView } from '../array-view.js';

const views = new WeakSet<object>();

/** The paths of `items`, in their order, read when asked. */
export function pathView(items: readonly { readonly path: string }[]): string[] {
  // By index without a key string when the items are a listing's view (diff/listing-view.ts).
  const item = indexReader(items);
  const view = arrayView({ length: () => items.length, read: (i) => item(i).path });
  views.add(view);
  return view;
}

/** `changes` with its added paths as a plain array when they are a view (before a copy: rollout/detached-copy.ts). */
export function plainChanges(changes: TargetChanges): TargetChanges {
  return views.has(changes.added) ? { ...changes, added: [...changes.added] } : changes;
}
