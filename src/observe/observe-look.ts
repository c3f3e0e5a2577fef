/**
 * Authoritative mode's look at a target whose transport compares the walk with
 * the manifest's stat cache where the files are (`walkUnmatched`: the SSH file
 * helper). Only what differs crosses the wire: entries that are not a file or
 * link matching its manifest line (strays, folders, changed files), and the
 * manifest paths the walk did not reach. The look starts as soon as the plan
 * does, alongside the release listing; then the release listing, the answer
 * and the manifest's lines (bytes already read with the state) are merged in
 * byte order of paths. A manifest line whose path the answer does not name
 * was walked and matched: the target holds its blob, trusted by its stat.
 * Such a line is in sync when its blob and mode are the release's, compared in
 * place without parsing it; every other line used is parsed and checked as
 * hostile input (manifest-text.ts), as is every line nobody vouches for.
 */
import type { EntryType } from '../entry-type.js';
import type { Manifest } from '../plan/manifest-types.js';
import type { Observed } from '../plan/types.js';
import { holds } from '../plan/context.js';
import { typeFromMode } from '../transport/walk.js';
import type { UnmatchedWalk } from '../transport/transport.js';
import { TransportError } from '../errors.js';
import { manifestBytes } from '../apply/stored-manifest.js';
import type { ManifestRef } from '../apply/manifest-store.js';
import { BadLine, parseLine, stateError } from '../apply/manifest-text.js';
import type { ObserveTarget } from './observe-paths.js';
import type { LossySuspects } from './lossy-names.js';
import { keepUncompared, type AuthoritativeView, type ReleaseEntry } from './authoritative-merge.js';
import { ObservedEntries } from '../plan/observed-entries.js';
import { manifestLines, type ManifestLine } from './manifest-lines.js';
import { byteOrder } from '../byte-order.js';
import { LookStats } from './look-stats.js';

/** A look under way: its answer, and the entries it sent (in parallel: strays may be many). */
export interface Look {
  done: Promise<UnmatchedWalk | null>;
  paths: string[];
  types: EntryType[];
  /** Each entry's stat, as text until the merge asks for it (look-stats.ts). */
  stats: LookStats;
  manifest: Buffer;
  ref: ManifestRef;
  idLength: number;
  where: string;
}

/** What the look needs of the target's recorded state. */
interface Recorded {
  release: string;
  manifest: Manifest | null;
  manifestFile: ManifestRef | null;
}

/** Start the look (the caller awaits it in `mergeLook`); null when the transport or the state has none. */
export function startLook(target: ObserveTarget, state: Recorded | null): Look | null {
  const t = target.transport;
  const ref = state?.manifestFile;
  if (!t.walkUnmatched || !state?.manifest || !ref) return null;
  const l = target.layout;
  const file = `${l.manifests}/${ref.file}`;
  const look: Omit<Look, 'done'> = {
    paths: [],
    types: [],
    stats: new LookStats(),
    manifest: manifestBytes(state.manifest),
    ref,
    idLength: state.release.length === 64 ? 64 : 40,
    where: `${t.description}/${file}`,
  };
  const done = t.walkUnmatched({ manifest: file, state: l.state, skip: [l.dir] }, (path, type, stat) => {
    look.paths.push(path);
    look.types.push(type);
    look.stats.push(stat);
  });
  done.catch(() => undefined); // awaited in mergeLook; a failure before then must not go unhandled
  return { ...look, done };
}

/**
 * The view the plan needs, from a finished look; null when the look could not run
 * there, or compared with another file than the one the state names (the caller walks then).
 */
export async function mergeLook(
  look: Look,
  release: readonly ReleaseEntry[],
  named: ReadonlySet<string>,
  typeOnly: Readonly<Record<EntryType, Observed>>,
  suspects: LossySuspects,
): Promise<AuthoritativeView | null> {
  const answer = await look.done;
  if (!answer || answer.sha256 !== look.ref.sha256 || answer.size !== look.ref.size) return null;
  const view: AuthoritativeView = {
    observed: new ObservedEntries(typeOnly.file),
    release: new Map(),
    toHash: [],
    inSync: 0,
    walked: new Map(),
  };
  const missing = new Set(answer.missing);
  const lines = manifestLines(look.manifest, look.where);
  let line = lines.next().value;
  let matched = 0;
  let r = 0;
  let w = 0;
  try {
    for (;;) {
      const rp = r < release.length ? release[r]!.path : undefined;
      const wp = w < look.paths.length ? look.paths[w] : undefined;
      const mp = line?.path;
      let p = rp;
      if (wp !== undefined && (p === undefined || before(wp, p))) p = wp;
      if (mp !== undefined && (p === undefined || before(mp, p))) p = mp;
      if (p === undefined) break;
      const file = rp === p ? release[r++] : undefined;
      const walked = wp === p ? w++ : -1;
      const l = mp === p ? line : undefined;
      if (l) line = lines.next().value;
      if (walked >= 0) {
        suspects.see(p);
        if (l) parseLine(l.text, look.idLength); // checked, though the walk's stat decides
        sent(view, p, file, look.types[walked]!, look.stats, walked, named, typeOnly);
      } else if (l && !l.quoted && !missing.has(p)) {
        matched++;
        unsent(view, p, file, l, look.idLength, named, typeOnly);
      } else {
        if (l) parseLine(l.text, look.idLength);
        if (file) view.release.set(p, file); // not on the target
      }
    }
  } catch (error) {
    if (!(error instanceof BadLine)) throw error;
    throw stateError(look.where, error.message);
  }
  if (matched !== answer.matched)
    throw new TransportError(
      'E_TRANSPORT',
      `${look.where}: the file helper matched ${answer.matched} file(s) with the manifest, its lines say ${matched}`,
    );
  return view;
}

/** a < b in byte order of UTF-8 (string order unless a surrogate is involved). */
const before = (a: string, b: string): boolean => byteOrder(a, b) < 0;

/** An entry the look sent: its type (and for a file or link, its stat: hashed when compared). */
function sent(
  view: AuthoritativeView,
  path: string,
  file: ReleaseEntry | undefined,
  type: EntryType,
  stats: LookStats,
  i: number,
  named: ReadonlySet<string>,
  typeOnly: Readonly<Record<EntryType, Observed>>,
): void {
  // A stray's stat is never read: it is deleted whatever it holds.
  const stat = file !== undefined || named.has(path) ? stats.get(i) : null;
  if (stat !== null) {
    view.observed.set(path, { type, blob: null, mode: stat.mode & 0o7777 });
    view.toHash.push(path);
    // Hashed once: a file found to hold its release blob gets this stat in the next manifest.
    if (file !== undefined) view.walked?.set(path, stat);
  } else return keepUncompared(view, path, type, file, named, typeOnly);
  if (file !== undefined) view.release.set(path, file);
}

/** A manifest file the look walked and matched: in sync, or kept with the manifest's blob. */
function unsent(
  view: AuthoritativeView,
  path: string,
  file: ReleaseEntry | undefined,
  l: ManifestLine,
  idLength: number,
  named: ReadonlySet<string>,
  typeOnly: Readonly<Record<EntryType, Observed>>,
): void {
  if (file !== undefined && !named.has(path)) {
    const mode = statModeIfRelease(l.text, file);
    if (
      mode !== null &&
      holds({ type: typeFromMode(mode), blob: file.blob, mode: mode & 0o7777 }, file.blob, file.mode)
    ) {
      view.inSync++;
      return;
    }
  }
  const e = parseLine(l.text, idLength);
  if (!e.stat) throw new BadLine(`entry ${JSON.stringify(path)} has no stat, yet the file helper matched it`);
  const type = typeFromMode(e.stat.mode);
  const obs: Observed = { type, blob: e.blob, mode: e.stat.mode & 0o7777 };
  if (file === undefined && !named.has(path)) return keepUncompared(view, path, type, file, named, typeOnly);
  view.observed.set(path, obs);
  if (file !== undefined) view.release.set(path, file);
}

const TAB = 0x09;

/**
 * The stat's mode of a line that starts with the release file's blob and git mode
 * (the line is then what this deploy would write, its stat matched by the helper);
 * null otherwise (the caller parses the line).
 */
function statModeIfRelease(text: string, file: ReleaseEntry): number | null {
  const b = file.blob.length;
  const m = b + 1 + file.mode.length;
  if (!text.startsWith(file.blob) || text.charCodeAt(b) !== TAB) return null;
  if (!text.startsWith(file.mode, b + 1) || text.charCodeAt(m) !== TAB) return null;
  const end = text.indexOf('\t', m + 1);
  const comma = text.lastIndexOf(',', end);
  if (end < 0 || comma <= m) return null;
  const mode = Number(text.slice(comma + 1, end));
  return Number.isSafeInteger(mode) && mode >= 0 ? mode : null;
}
