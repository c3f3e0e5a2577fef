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
import type { Manifest } from '../plan/manifest-types.js';
import type { Observed } from '../plan/types.js';
import { stateWrittenNs } from '../apply/manifest.js';
import { isOnDisk, keepManifestBytes, manifestCursor, manifestIndex } from '../apply/stored-manifest.js';
import { stateHint, walksUnordered } from './whole-walk.js';
import type { LossySuspects } from './lossy-names.js';
import type { AuthoritativeView } from './authoritative-merge.js';
import { ManifestWalkMerge, type MergeInputs } from './manifest-walk-merge.js';
import type { SettleRaw, SortedVisit, Transport, WalkEcho } from '../transport/transport.js';
import { ECHO_MAX_BYTES, echoCompares, olderThan, type EchoFile } from './walk-echo.js';
import { echoedView } from './echoed-merge.js';
import { readEcho } from '../apply/walk-echo-file.js';

/** What the merge reads: the recorded manifest, the diff from its release, and the state file (racy line). */
export interface ManifestBasis {
  manifest: Manifest;
  diff: DiffResult;
  statePath: string;
  /** Which of these paths are gitlinks of the new release (path → commit id); asked only when a stray might be one. */
  gitlinks: (paths: Iterable<string>) => Promise<ReadonlyMap<string, string>>;
  /** The manifest is small enough to index: merged with a walk in no particular order (walksUnordered). */
  unordered: boolean;
  /** The walk the last deploy left (walk-echo.ts), read as the plan starts; null where none is usable. */
  echo?: Promise<EchoFile | null>;
  /** No `protect` pattern: the plan deletes every stray the walk finds, and its commit leaves no echo. */
  straysGo?: boolean;
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
  o: { driftScope?: DriftScope; protect?: readonly string[] },
  gitlinks: ManifestBasis['gitlinks'],
): ManifestBasis | undefined {
  const { state } = target;
  if (basis.full !== null || basis.diff.from === null || !state?.manifest || state.selection === undefined)
    return undefined;
  if (o.driftScope === 'all' || !target.transport.walkSorted) return undefined;
  const unordered = walksUnordered(stateHint(state), o);
  const t = target.transport;
  return {
    manifest: state.manifest,
    diff: basis.diff,
    statePath: target.layout.state,
    gitlinks,
    unordered,
    straysGo: (o.protect?.length ?? 0) === 0,
    ...(unordered && t.walkUnordered && state.manifestFile
      ? { echo: readEcho(t, target.layout, state.manifestFile) }
      : {}),
  };
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
  paths: Iterable<string>,
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
  let any = false;
  for (const p of paths) if ((any = raw.has(p))) break;
  if (!any) return links;
  const full = await diffWith(objects, { ...filters, from: null, to });
  for (const c of full.changes)
    if (c.status !== 'deleted' && c.mode === SUBMODULE_MODE) links.set(c.path, c.blob);
  return links;
}

/**
 * The target as the authoritative plan needs it (see authoritative-merge.ts), from
 * a walk, the manifest and the diff (manifest-walk-merge.ts). A small manifest is
 * indexed and merged with a walk in find's own order, compared while find walks
 * (`basis.unordered`, where the transport has walkUnordered); otherwise the
 * manifest is read forward beside a sorted walk. Only for a transport that walks
 * in path order with exact lstats (`walkSorted`, local).
 */
export async function mergeWithManifest(
  t: Transport & Required<Pick<Transport, 'walkSorted'>>,
  stateDir: string,
  basis: ManifestBasis,
  named: ReadonlySet<string>,
  typeOnly: Readonly<Record<EntryType, Observed>>,
  suspects: LossySuspects,
): Promise<AuthoritativeView> {
  // The stat cache is trusted only with the state file's mtime; the manifest's lines are read either way.
  const written = await stateWrittenNs(t, basis.statePath);
  const skip = [stateDir];
  const { diff, gitlinks } = basis;
  const inputs = { t, stateDir, diff, gitlinks, named, typeOnly, suspects, written };
  if (basis.unordered && t.walkUnordered) {
    const view = await mergeUnordered(
      t as Transport & Required<Pick<Transport, 'walkUnordered'>>,
      skip,
      basis,
      inputs,
    );
    if (view !== null) return view;
    // find could not walk it all: what it visited is void, walked again in order.
    suspects.paths.length = 0;
  }
  const cursor = manifestCursor(basis.manifest);
  const merge = new ManifestWalkMerge({ ...inputs, recorded: cursor });
  await t.walkSorted(skip, merge.visit, merge.sortedSettler(cursor) ?? undefined);
  return merge.end(false);
}

/**
 * The merge beside a walk in find's order: compared first with the walk's echo (walk-echo.ts)
 * where the last deploy left one, else (or when they differ) merged through the manifest's
 * index. Null when find could not walk it all (what was visited is void).
 */
async function mergeUnordered(
  t: Transport & Required<Pick<Transport, 'walkUnordered'>>,
  skip: string[],
  basis: ManifestBasis,
  inputs: Omit<MergeInputs, 'recorded'>,
): Promise<AuthoritativeView | null> {
  const { written } = inputs;
  const echoed = isOnDisk(basis.manifest) ? null : await basis.echo;
  // Only an echo whose newest file is older than the state file (the racy rule) says "in sync".
  const expected = echoed && written !== null && olderThan(echoed.below, written) ? echoed.records : null;
  // Without an index to read it whole, the manifest is read now (while find walks): the diff's
  // lines are looked up in it, and the commit makes the next manifest from it.
  if (expected) keepManifestBytes(basis.manifest);
  // The index and the merge are made only when the walk is visited (not for a walk that is its echo).
  let merge: ManifestWalkMerge | null = null;
  let settle: SettleRaw | null = null;
  // A commit leaves an echo only after rewrites in place: for a diff that adds, deletes or
  // renames, the walk is not copied (a 30,000-file walk is ~3 MB).
  const inPlace = basis.diff.changes.every((c) => c.status === 'updated');
  const echo: WalkEcho = {
    expected,
    ...(inPlace && { keepUpTo: ECHO_MAX_BYTES }),
    beforeVisit: () => {
      const index = manifestIndex(basis.manifest);
      merge = new ManifestWalkMerge({ ...inputs, recorded: index });
      settle = merge.settler(index);
    },
  };
  // The files and links visited, not settled: a commit leaves an echo only if it rewrites each one
  // the merge did not find in sync.
  const visited: string[] = [];
  const visit: SortedVisit = (path, type, exact) => {
    if (echo.keepUpTo === undefined) return merge!.visit(path, type, exact);
    if (type === 'file' || type === 'symlink') visited.push(path);
    merge!.visit(path, type, exact);
    // A stray the plan deletes: the commit leaves no echo (walk-echo-file.ts), so the walk's bytes
    // (22 MB for 300,000 strays) are not kept, nor the paths visited. (A file where the release
    // has a gitlink stays: only its echo is lost.)
    if (basis.straysGo && merge!.strays > 0) {
      delete echo.keepUpTo;
      visited.length = 0;
    }
  };
  const whole = await t.walkUnordered(skip, visit, (e) => settle?.(e) ?? false, echo);
  if (expected) echoCompares[echo.same ? 'same' : 'differed']++;
  if (!whole) return null;
  const view = echo.same
    ? (await echoedView(inputs, basis.manifest, echo.records!, visited))!
    : await merge!.end(true);
  if (echo.records && written !== null) {
    // Visited and found in sync by the stat cache (a name the settler leaves to the visitor, a
    // path the diff names): not kept in `observed`, and its record may stay as the walk has it.
    const acted = visited.filter((p) => view.observed.has(p));
    view.echo = { records: echo.records, visited: acted, below: echo.same ? echoed!.below : written };
  }
  return view;
}
