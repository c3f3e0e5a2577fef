/**
 * One `git diff-tree` per distinct diff in a rollout. Every target on the same
 * release asks for the same change set (and preflight asks once more per
 * target); each `git` process is a fork of the whole Node process on the main
 * thread, so fifty targets used to start a hundred of them for one answer.
 *
 * Kept with the rollout's shared GitObjects (its lifetime is the rollout's),
 * keyed by resolved commit ids and the filters, never by ref names. Callers
 * get their own array; the change records are shared and never mutated.
 */
import type { GitObjects } from './git-objects.js';
import type { Change } from './types.js';

const byReader = new WeakMap<GitObjects, Map<string, Promise<Change[]>>>();

/** `compute()` once per `key` for `objects`; without a shared reader, every call computes. */
export async function sharedDiff(
  objects: GitObjects | null,
  key: readonly unknown[],
  compute: () => Promise<Change[]>,
): Promise<Change[]> {
  if (objects === null) return compute();
  let diffs = byReader.get(objects);
  if (!diffs) byReader.set(objects, (diffs = new Map()));
  const k = JSON.stringify(key);
  let pending = diffs.get(k);
  if (!pending) {
    pending = compute();
    diffs.set(k, pending);
    // A failure is not remembered: the next target asks git again.
    pending.catch(() => diffs.delete(k));
  }
  return [...(await pending)];
}
