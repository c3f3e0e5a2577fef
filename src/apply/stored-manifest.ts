/**
 * A manifest read from its file's bytes (manifest-text.ts), in memory or by offset
 * from the checked file (manifest-source.ts): `files` are parsed, and checked as
 * hostile input, on first use only.
 */
import { formatManifest, parseManifestText } from './manifest-text.js';
import { ManifestCursor } from './manifest-lines.js';
import { ManifestIndex } from './manifest-index.js';
import { entriesAt } from './manifest-lookup.js';
import { bufferSource, type ManifestSource } from './manifest-source.js';
import { sortByPath } from '../byte-order.js';
import { MANIFEST_VERSION, type Manifest, type ManifestEntry } from '../plan/manifest-types.js';

/** A file's bytes, shared by every reader of them; its entries once parsed. */
export interface Shared {
  source: ManifestSource;
  files?: ManifestEntry[];
}

/**
 * A manifest read from (or written to) a target: `files` are parsed and checked on
 * first use. It looks like a plain `Manifest` (own enumerable `version` and `files`,
 * so equality and spreads behave); its bytes are a non-enumerable property.
 */
export class StoredManifest implements Manifest {
  readonly version = MANIFEST_VERSION;
  declare readonly files: ManifestEntry[];
  /** The whole file (read whole, and not kept, when it is read by offset). */
  declare readonly data: Buffer;
  /** Its bytes by offset: the whole file is never needed at once. */
  declare readonly source: ManifestSource;
  /** Its lines one at a time, in path order, none kept (see `manifestCursor`). */
  declare readonly cursor: () => ManifestCursor;
  /** Its lines by path, in one map (see `manifestIndex`). */
  declare readonly index: () => ManifestIndex;
  /** Its bytes read whole now and kept (a small manifest, read again by this run). */
  declare readonly keepWhole: () => Buffer;
  /** The entries of a few paths, by binary search on its bytes (see `manifestEntriesAt`). */
  declare readonly entriesAt: (paths: Iterable<string>) => Map<string, ManifestEntry>;

  constructor(shared: Shared, idLength: number, where: string) {
    // The shared source, as it is now: read whole once, it is the bytes in memory (`index`).
    const source = () => shared.source;
    const whole = () => source().buffer ?? source().read(0, source().size);
    Object.defineProperty(this, 'data', { get: whole, enumerable: false });
    Object.defineProperty(this, 'source', { get: source, enumerable: false });
    Object.defineProperty(this, 'cursor', {
      enumerable: false,
      value: () => new ManifestCursor(source(), idLength, where),
    });
    // Read whole (for an index, or a merge beside a walk echo): kept as the file's shared bytes, so
    // the next manifest's merge after the lock finds its lines in memory, not by ~100 reads of
    // 64 KiB with an fstat each. They are the bytes read through the checked descriptor.
    const keepWhole = (): Buffer => {
      const data = whole();
      if (!source().buffer) shared.source = bufferSource(data);
      return data;
    };
    Object.defineProperty(this, 'keepWhole', { enumerable: false, value: keepWhole });
    Object.defineProperty(this, 'index', {
      enumerable: false,
      value: () => new ManifestIndex(keepWhole(), idLength, where),
    });
    Object.defineProperty(this, 'entriesAt', {
      enumerable: false,
      value: (paths: Iterable<string>) => entriesAt(source(), paths, idLength, where),
    });
    Object.defineProperty(this, 'files', {
      enumerable: true,
      /** @throws DiffshipError E_STATE naming the file and the first bad line. */
      get: () => (shared.files ??= parseManifestText(whole().toString('utf8'), idLength, where)),
    });
  }
}

/** A manifest file's bytes (this run wrote them). */
export function manifestFromBytes(data: Buffer, idLength: number, where: string): Manifest {
  return new StoredManifest({ source: bufferSource(data) }, idLength, where);
}

/** A manifest held in memory from its entries (an inline version 2 one, upgraded). */
export function manifestFromEntries(
  files: readonly ManifestEntry[],
  idLength: number,
  where: string,
): Manifest {
  const sorted = sortByPath([...files]);
  return new StoredManifest(
    { source: bufferSource(Buffer.from(formatManifest(sorted), 'utf8')), files: sorted },
    idLength,
    where,
  );
}

/** A manifest's file bytes by offset (manifest-source.ts). */
export function manifestSource(m: Manifest): ManifestSource {
  return m instanceof StoredManifest ? m.source : bufferSource(manifestBytes(m));
}

/** The file bytes of any manifest, whole. */
export function manifestBytes(m: Manifest): Buffer {
  return m instanceof StoredManifest || m instanceof OnDiskManifest
    ? m.data
    : Buffer.from(formatManifest(sortByPath([...m.files])), 'utf8');
}

/** A manifest recorded by this run and not held in memory (its bytes are on the target only). */
class OnDiskManifest implements Manifest {
  readonly version = MANIFEST_VERSION;
  declare readonly files: ManifestEntry[];
  declare readonly data: Buffer;

  constructor(where: string) {
    const unread = () => {
      throw new Error(`${where}: the manifest was not read back (loadManifest)`);
    };
    Object.defineProperty(this, 'data', { get: unread, enumerable: false });
    Object.defineProperty(this, 'files', { get: unread, enumerable: false });
  }
}

/** The manifest just written to `where`, held by name only: a 500,000-file deploy keeps no copy. */
export function manifestOnDisk(where: string): Manifest {
  return new OnDiskManifest(where);
}

export function isOnDisk(m: Manifest): boolean {
  return m instanceof OnDiskManifest;
}

/**
 * A manifest's lines in path order, checked as they are used (manifest-lines.ts):
 * a stored one is read from its bytes, never built as a list of 500,000 entries.
 * @throws DiffshipError E_STATE naming the first bad line, when reached.
 */
export function manifestCursor(m: Manifest): ManifestCursor {
  if (m instanceof StoredManifest) return m.cursor();
  return new ManifestCursor(...inMemory(m));
}

/**
 * A manifest's lines by path (manifest-index.ts), for a merge with a walk in no
 * particular order; the caller keeps it to small manifests (MANIFEST_INDEX_MAX).
 * @throws DiffshipError E_STATE naming the first bad line found while indexing.
 */
export function manifestIndex(m: Manifest): ManifestIndex {
  if (m instanceof StoredManifest) return m.index();
  const [source, idLength, where] = inMemory(m);
  return new ManifestIndex(source.buffer!, idLength, where);
}

/** A manifest built in memory (not read from a target): its own lines, as a reader takes them. */
function inMemory(m: Manifest): [ManifestSource, number, string] {
  const files = sortByPath([...m.files]);
  return [bufferSource(Buffer.from(formatManifest(files), 'utf8')), files[0]?.blob.length ?? 40, 'manifest'];
}

/** A stored manifest's bytes read whole now and kept, for the reads that follow (a small one's). */
export function keepManifestBytes(m: Manifest): void {
  if (m instanceof StoredManifest) m.keepWhole();
}

/**
 * The entries `m` lists for `paths` (the others absent): a stored manifest's found by
 * binary search on its bytes, never parsed whole (a 500,000-file one is ~70 MB);
 * null for one recorded by this run and not read back.
 * @throws DiffshipError E_STATE naming the manifest's file and a bad line met
 */
export function manifestEntriesAt(m: Manifest, paths: Iterable<string>): Map<string, ManifestEntry> | null {
  if (m instanceof StoredManifest) return m.entriesAt(paths);
  if (m instanceof OnDiskManifest) return null;
  const wanted = new Set(paths);
  return new Map(m.files.filter((f) => wanted.has(f.path)).map((f) => [f.path, f]));
}
