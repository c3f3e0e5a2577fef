/**
 * One `git diff-tree` per distinct diff in a rollout. Every target on the same
 * release asks for the same change set (and preflight asks once more per
 * target); each `git` process is a fork of the whole Node process on the main
 * thread, so fifty targets used to start a hundred of them for one answer.
 *
 * Kept with the rollout's shared GitObjects (its lifetime is the rollout's),
 * keyed by resolved commit ids and the filters, never by ref names. A big
 * finished diff is held weakly: shared while some target still uses it, but a
 * 500,000-file listing is not kept alive for the rest of the rollout by the
 * cache alone. Callers share the result, its array and its records, and never mutate them.
 */
import type { GitObjects } from './git-objects.js';
import type { DiffResult } from './types.js';

type Entry = Promise<DiffResult> | WeakRef<DiffResult> | DiffResult;

/** Diffs up to this many changes (a few MiB) are kept for the whole rollout. */
const STRONG_MAX = 10_000;
const byReader = new WeakMap<GitObjects, Map<string, Entry>>();

/** `compute()` once per `key` for `objects` while its result is alive; without a shared reader, every call computes. */
export async function sharedDiff(
  objects: GitObjects | null,
  key: readonly unknown[],
  compute: () => Promise<DiffResult>,
): Promise<DiffResult> {
  if (objects === null) return compute();
  let diffs = byReader.get(objects);
  if (!diffs) byReader.set(objects, (diffs = new Map()));
  const k = JSON.stringify(key);
  const entry = diffs.get(k);
  const live = entry instanceof WeakRef ? entry.deref() : entry;
  if (live) return live;
  const pending = compute();
  diffs.set(k, pending);
  try {
    const result = await pending;
    diffs.set(k, result.changes.length <= STRONG_MAX ? result : new WeakRef(result));
    return result;
  } catch (error) {
    diffs.delete(k); // a failure is not remembered: the next target asks git again
    throw error;
  }
}
