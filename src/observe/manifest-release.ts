/**
 * Authoritative mode without listing the release: when the plan comes from the
 * recorded commit, with the same selection, and the target's manifest (checked
 * against the size and SHA-256 its state names) lists exactly the files the
 * recorded release shipped, the new release's files are the manifest's minus
 * what the diff deletes or renames away, plus what it adds or updates. So the
 * walk is merged with the manifest (read forward, one line at a time) and the
 * diff (a map of the changed paths): no `git diff-tree` over the whole release,
 * no object per release file; memory O(changes + differences).
 *
 * The one thing a manifest does not hold is a submodule (gitlink): it is never
 * shipped, but a file where the release has one must not be deleted as a stray.
 * So when the walk finds a non-folder entry neither list names (rare), the
 * release's gitlinks are asked for (`gitlinks`, a listing only then).
 */
import type { DiffResult } from '../diff/types.js';
import { SUBMODULE_MODE } from '../diff/types.js';
import { diffWith } from '../diff/diff-releases.js';
import { runGit } from '../diff/git.js';
import { normalizeSource } from '../diff/ref.js';
import type { GitObjects } from '../diff/git-objects.js';
import type { DiffOptions } from '../diff/types.js';
import type { DriftScope } from '../config/types.js';
import type { TargetState } from '../apply/state.js';
import type { Basis } from '../apply/basis.js';
import type { ObserveTarget } from './observe-paths.js';
import type { EntryType } from '../entry-type.js';
import type { ManifestEntry, Manifest } from '../plan/manifest-types.js';
import type { Observed } from '../plan/types.js';
import { inStateDir, type ReleaseFile } from '../plan/context.js';
import { DiffshipError } from '../errors.js';
import type { Transport } from '../transport/transport.js';
import { stateWrittenNs } from '../apply/manifest.js';
import { manifestCursor } from '../apply/stored-manifest.js';
import type { ManifestCursor } from '../apply/manifest-lines.js';
import type { LossySuspects } from './lossy-names.js';
import { compareSought, type AuthoritativeView, type ReleaseEntry } from './authoritative-merge.js';

/** What the merge reads: the recorded manifest, the diff from its release, and the state file (racy line). */
export interface ManifestBasis {
  manifest: Manifest;
  diff: DiffResult;
  statePath: string;
  /** Which of these paths are gitlinks of the new release (path → commit id); asked only when a stray might be one. */
  gitlinks: (paths: readonly string[]) => Promise<ReadonlyMap<string, string>>;
}

/**
 * The manifest basis for a plan, or undefined where the release must be listed:
 * a basis from the manifest, a first deploy, a changed selection or held-back
 * units (then `basis.full` is the listing), a state that predates the recorded
 * selection (its manifest may not be this selection's), `drift-scope: all`, or a
 * transport that does not walk in path order.
 */
export function manifestBasis(
  target: ObserveTarget & { state: TargetState | null },
  basis: Basis,
  o: { driftScope?: DriftScope },
  gitlinks: ManifestBasis['gitlinks'],
): ManifestBasis | undefined {
  const { state } = target;
  if (basis.full !== null || basis.diff.from === null || !state?.manifest || state.selection === undefined)
    return undefined;
  if (o.driftScope === 'all' || !target.transport.walkSorted) return undefined;
  return { manifest: state.manifest, diff: basis.diff, statePath: target.layout.state, gitlinks };
}

/**
 * The release's gitlinks (submodules) among `paths`, as the filtered listing has them.
 * git lists the folders and gitlinks of the release's tree first (`ls-tree -r -d`: one
 * line per folder, not per file); only when one of `paths` is a gitlink there is the
 * release listed, to apply include/exclude and `.diffshipignore` exactly as a deploy does.
 */
export async function gitlinksOf(
  objects: GitObjects | null,
  filters: Omit<DiffOptions, 'from' | 'to'> & { repo: string },
  to: string,
  paths: readonly string[],
): Promise<ReadonlyMap<string, string>> {
  const links = new Map<string, string>();
  const { prefix } = normalizeSource(filters.source);
  // `to` is the diff's resolved id: never read as an option.
  const { stdout } = await runGit(filters.repo, [
    'ls-tree',
    '-r',
    '-d',
    '-z',
    `${to}:${prefix.slice(0, -1)}`,
  ]);
  const raw = new Set<string>();
  for (const entry of stdout.toString('utf8').split('\0'))
    if (entry.startsWith(`${SUBMODULE_MODE} `)) raw.add(entry.slice(entry.indexOf('\t') + 1));
  if (!paths.some((p) => raw.has(p))) return links;
  const full = await diffWith(objects, { ...filters, from: null, to });
  for (const c of full.changes)
    if (c.status !== 'deleted' && c.mode === SUBMODULE_MODE) links.set(c.path, c.blob);
  return links;
}

const TAB = 0x09;
const MODES: ReadonlySet<string> = new Set(['100644', '100755', '120000']);

/**
 * The target as the authoritative plan needs it (see authoritative-merge.ts), from
 * a sorted walk, the manifest and the diff. Only for a transport that walks in path
 * order with exact lstats (`walkSorted`, local).
 */
export async function mergeWithManifest(
  t: Transport & Required<Pick<Transport, 'walkSorted'>>,
  stateDir: string,
  basis: ManifestBasis,
  named: ReadonlySet<string>,
  typeOnly: Readonly<Record<EntryType, Observed>>,
  suspects: LossySuspects,
): Promise<AuthoritativeView> {
  const view: AuthoritativeView = { observed: new Map(), release: new Map(), toHash: [], inSync: 0 };
  const changed = changedFiles(basis.diff);
  // The stat cache is trusted only with the state file's mtime; the manifest's lines are read either way.
  const written = await stateWrittenNs(t, basis.statePath);
  const recorded = manifestCursor(basis.manifest);
  // A manifest line the walk passes over is a release file the target lacks (unless the diff changed it).
  const missing = (e: ManifestEntry) => {
    // The walk never enters the state folder, and no deploy records a file there (planChanges
    // refuses such a release): a line there is not diffship's, and nothing is written from it.
    if (inStateDir(e.path, stateDir))
      throw new DiffshipError(
        'E_STATE',
        `${t.description}: the manifest lists ${JSON.stringify(e.path)}, inside the state folder ${stateDir} — the state was not written by diffship; inspect it, or remove the state folder and deploy with --assume-empty`,
      );
    if (!changed.has(e.path)) view.release.set(e.path, { mode: e.mode, blob: e.blob });
  };
  const unknown: string[] = []; // entries neither list names: strays, unless a gitlink of the release
  await t.walkSorted([stateDir], (path, type, exact) => {
    suspects.see(path);
    const line = recorded.seek(path, missing);
    const change = changed.get(path);
    const compared = type === 'file' || type === 'symlink';
    // Compared, a line is checked by compareSought (equal to the one built from the lstat, or parsed).
    const file =
      change !== undefined
        ? (change ?? undefined)
        : line !== undefined
          ? fileOf(line, recorded, compared)
          : undefined;
    if (compared && (file !== undefined || named.has(path)))
      compareSought(path, file, exact(path), line, recorded, written, named, view);
    else {
      if (line !== undefined && change !== undefined) recorded.parse(line); // checked as every line is
      view.observed.set(path, typeOnly[type]);
      if (file !== undefined) view.release.set(path, file);
      else if (type !== 'dir' && !named.has(path)) unknown.push(path);
    }
  });
  recorded.finish(missing); // every line is checked, as a whole parse would
  // The diff's own files: those the walk did not reach are missing (the planner skips what it writes anyway).
  for (const [path, file] of changed)
    if (file !== null && !view.release.has(path)) view.release.set(path, file);
  if (unknown.length > 0) {
    const links = await basis.gitlinks(unknown);
    for (const path of unknown) {
      const commit = links.get(path);
      if (commit !== undefined) view.release.set(path, { mode: SUBMODULE_MODE, blob: commit });
    }
  }
  return view;
}

/** The diff's paths: the new release's file at each (null: deleted or renamed away). */
function changedFiles(diff: DiffResult): Map<string, ReleaseEntry | null> {
  const changed = new Map<string, ReleaseEntry | null>();
  for (const c of diff.changes) {
    if (c.status === 'deleted') changed.set(c.path, null);
    else if (c.status === 'renamed') changed.set(c.oldPath, null);
  }
  // After the deletes: a path renamed away that another change fills holds that change's file.
  for (const c of diff.changes) if (c.status !== 'deleted') changed.set(c.path, c);
  return changed;
}

/**
 * The release file a manifest line records. `inPlace`: read from its blob and mode
 * fields when well-formed (compareSought then compares the whole line with the one
 * built from the lstat, or parses it); any other line is parsed, so checked.
 */
function fileOf(line: string, recorded: ManifestCursor, inPlace: boolean): ReleaseFile {
  const n = recorded.idLength;
  if (inPlace && line.charCodeAt(n) === TAB && line.charCodeAt(n + 7) === TAB) {
    const mode = line.slice(n + 1, n + 7);
    const blob = line.slice(0, n);
    if (MODES.has(mode) && isLowerHex(blob)) return { mode: mode as ReleaseFile['mode'], blob };
  }
  const e = recorded.parse(line);
  return { mode: e.mode, blob: e.blob };
}

function isLowerHex(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) return false;
  }
  return true;
}
