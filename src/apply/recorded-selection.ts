/**
 * The selection a target's state records (`state.json` → `selection`): the
 * source folder, include and exclude globs and the blob id of the release's
 * `.diffshipignore`. When the next deploy's selection differs, the diff from the
 * recorded release says nothing about files that were outside the old
 * selection, so the plan compares the target with the whole new selection.
 * Optional in the state: states written before it read fine (and count as unchanged).
 */
import { catFileBatch } from '../diff/git.js';
import type { GitObjects } from '../diff/git-objects.js';
import { IGNORE_FILE } from '../diff/ignore.js';
import { normalizeSource } from '../diff/ref.js';

export interface RecordedSelection {
  /** As given (`.` for the whole repository). */
  source: string;
  include: string[];
  exclude: string[];
  /** git blob id of the release's `.diffshipignore` in the source folder; null when there is none. */
  ignore: string | null;
}

/** The selection of a deploy of `to`. */
export async function currentSelection(
  objects: GitObjects | null,
  repo: string,
  to: string,
  o: { source?: string; include?: readonly string[]; exclude?: readonly string[] },
): Promise<RecordedSelection> {
  const { given, prefix } = normalizeSource(o.source);
  const name = `${to}^{commit}:${prefix}${IGNORE_FILE}`;
  const [found] = objects ? [await objects.lookup(name)] : await catFileBatch(repo, [name]);
  return {
    source: given,
    include: [...(o.include ?? [])],
    exclude: [...(o.exclude ?? [])],
    ignore: found?.found && found.type === 'blob' ? found.oid : null,
  };
}

/** Same files selected? A state without a recorded selection counts as the same (it predates the record). */
export function sameSelection(recorded: RecordedSelection | undefined, now: RecordedSelection): boolean {
  if (recorded === undefined) return true;
  const source = (s: string) => normalizeSource(s).prefix;
  const list = (a: readonly string[]) => JSON.stringify([...a].sort());
  return (
    source(recorded.source) === source(now.source) &&
    list(recorded.include) === list(now.include) &&
    list(recorded.exclude) === list(now.exclude) &&
    recorded.ignore === now.ignore
  );
}

/**
 * The `selection` field of a state read back from a target (hostile input):
 * the value when well-formed, undefined when absent. Throws a one-line reason otherwise.
 */
export function parseRecordedSelection(value: unknown): RecordedSelection | undefined {
  if (value === undefined) return undefined;
  const v = value as Partial<Record<keyof RecordedSelection, unknown>> | null;
  const strings = (a: unknown) => Array.isArray(a) && a.every((x) => typeof x === 'string');
  const ok =
    typeof v === 'object' &&
    v !== null &&
    typeof v.source === 'string' &&
    strings(v.include) &&
    strings(v.exclude) &&
    (v.ignore === null || (typeof v.ignore === 'string' && /^[0-9a-f]{40}([0-9a-f]{24})?$/.test(v.ignore)));
  if (!ok) throw new Error('selection: expected {source, include[], exclude[], ignore: blob id or null}');
  const s = v as RecordedSelection;
  return { source: s.source, include: [...s.include], exclude: [...s.exclude], ignore: s.ignore };
}
