/**
 * The merge when the walk was its echo, byte for byte (walk-echo.ts): every file
 * it lists is in sync with the manifest, so the merge is told only what the
 * visitor decides besides them: the folders (the plan checks where it writes),
 * and the paths the diff changes or names, each with an exact lstat (what the
 * walk said of them, a moment later). Their manifest lines are found by binary
 * search (manifest-lookup.ts); no other line is read, and none is missing (the
 * echo lists a record for each of them).
 */
import type { Manifest, ManifestEntry } from '../plan/manifest-types.js';
import type { ManifestLines } from '../apply/manifest-lines.js';
import { lineOf, parseLine } from '../apply/manifest-text.js';
import { manifestEntriesAt } from '../apply/stored-manifest.js';
import { statWritten } from '../apply/manifest.js';
import { typeFromMode } from '../transport/walk.js';
import type { AuthoritativeView } from './authoritative-merge.js';
import { ManifestWalkMerge, type MergeInputs } from './manifest-walk-merge.js';
import { echoFolders, folderOf } from './walk-echo.js';

/** lstats of the diff's paths at once (a local target: synchronous, cheap). */
const STAT_LANES = 16;

/**
 * The view of a target whose walk was `records` (its echo), or null when the manifest's
 * lines cannot be looked up here (one this run recorded and did not read back: the caller
 * never asks for that one).
 * `visited` gets the files and links visited (the diff's paths found on the target).
 */
export async function echoedView(
  inputs: Omit<MergeInputs, 'recorded'>,
  manifest: Manifest,
  records: Buffer,
  visited: string[],
): Promise<AuthoritativeView | null> {
  const { diff } = inputs;
  const lines = new FoundLines((diff.from ?? diff.to).length === 64 ? 64 : 40);
  const merge = new ManifestWalkMerge({ ...inputs, recorded: lines });
  const special = merge.specialPaths();
  const found = manifestEntriesAt(manifest, special);
  if (found === null) return null;
  lines.found = found;
  const folders = echoFolders(records);
  for (const path of folders.keys()) merge.visit(path, 'dir', () => null);
  // Only a path the walk lists: one in a folder it entered (not below a link; observeInto looks then).
  const listed = special.filter((p) => !folders.has(p) && (folderOf(p) === '' || folders.has(folderOf(p))));
  const stats = await statWritten(inputs.t, listed, STAT_LANES);
  for (const path of listed) {
    const stat = stats.get(path);
    if (!stat) continue;
    const type = typeFromMode(stat.mode);
    if (type === 'file' || type === 'symlink') visited.push(path);
    merge.visit(path, type, (p) => (p === path ? stat : null));
  }
  return merge.end(true);
}

/**
 * The manifest's lines for the diff's paths, found up front: a path asked for gets its
 * line (as the file writes it), any other none; `finish` passes the lines nobody asked
 * for (a named path the target lacks), as a merge passes the lines its walk did not meet.
 */
class FoundLines implements ManifestLines {
  private readonly asked = new Set<string>();
  /** The lines found for the diff's paths (set once they are looked up). */
  found: ReadonlyMap<string, ManifestEntry> = new Map();

  constructor(readonly idLength: number) {}

  seek(path: string): string | undefined {
    const e = this.found.get(path);
    if (e === undefined) return undefined;
    this.asked.add(path);
    return lineOf(e, e.stat);
  }

  parse(line: string): ManifestEntry {
    return parseLine(line, this.idLength);
  }

  finish(passed?: (entry: ManifestEntry) => void): void {
    for (const [path, e] of this.found) if (!this.asked.has(path)) passed?.(e);
  }
}
