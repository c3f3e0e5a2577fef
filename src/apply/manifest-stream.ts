/**
 * The bytes of the manifest file a deploy records, made once and never held.
 * Its size is needed before its first byte goes out (a transport's write
 * announces it), but the whole text of a 500,000-file manifest is ~70 MB. So a
 * first pass takes the written files' fresh stats (a few thousand at a time)
 * and counts each line's bytes without making it (lineBytes), keeping only the
 * stats (stat-column.ts: typed arrays, or a temporary file for many); the lines
 * are then made in chunks as they are written, and hashed on the way (the state
 * records the SHA-256).
 */
import { TextChunks } from './text-chunks.js';
import { createHash } from 'node:crypto';
import type { FileStat, ManifestEntry } from '../plan/manifest-types.js';
import { lineBytes, lineWithStat } from './manifest-text.js';
import { statColumn, type StatColumn } from './stat-column.js';
import { isBaseRange, type ManifestPart, type PendingManifest } from './manifest-merge.js';
import type { PatchPart } from '../transport/transport.js';

/** Files whose fresh stats are asked for at once (by default: one round trip over SSH). */
const STAT_STEP = 4096;
/** Batches of fresh stats asked for at once (the answers held meanwhile: a few MB at most). */
const STAT_AHEAD = 4;
/**
 * Files taken in between turns of the event loop. A local target's stats are synchronous lstats
 * and its promises settle as microtasks: without a turn, the whole pass (500,000 files, seconds)
 * ran as one task, with no timer run meanwhile (the lease's renewal, the GC pacer: ~90 MB of
 * promoted stat garbage piled up uncollected).
 */
const PER_TURN = 2048;
/** Bytes per chunk of new lines. */
const CHUNK_BYTES = 256 * 1024;
/** Bytes of the previous file copied at a time. */
const RANGE_STEP = 1 << 20;

/** A manifest file's size, and its bytes made once by `chunks`, hashed as they go. */
export interface ManifestBytes {
  size: number;
  /**
   * The bytes in order; iterate once, to the end. `reuse`: a chunk copied from the previous
   * file may be read into one buffer reused for the next such chunk (no ~70 MB of garbage at
   * 500,000 files), and new lines made into another, for a consumer done with each chunk
   * before it asks for the next.
   */
  chunks(reuse?: boolean): Generator<Buffer, void, undefined>;
  /** SHA-256 of the bytes the last whole pass of `chunks` gave. @throws Error when it gave other than `size` bytes. */
  sha256(): string;
  /**
   * The same bytes as ranges of the previous file (a merge's `base`) where they are its
   * own, new bytes elsewhere: what a transport that patches files where they live needs.
   */
  patch(): Generator<PatchPart, void, undefined>;
  /** Give back what holds the stats (a spill file's descriptor) once no pass is left. */
  close(): void;
}

/**
 * The manifest file of `p`, each written file's line with its fresh stat from `statOf`
 * (none when the transport took none). `statOf` is asked `statStep` paths at a time.
 */
export async function manifestFileBytes(
  p: PendingManifest,
  statOf: (paths: string[]) => Promise<ReadonlyMap<string, FileStat>>,
  /**
   * Paths asked at once. Fewer where a batch costs no round trip (a local target): a batch's
   * stats live until it is counted, and 4,096 of them outlived the young generation and were
   * promoted (~200 bytes a file of old-space garbage at every manifest write).
   */
  statStep = STAT_STEP,
  /** Entries from which the stats wait in a file between the passes (stat-column.ts). */
  spillAt?: number,
): Promise<ManifestBytes> {
  let count = 0;
  let size = 0;
  for (const part of p.parts) {
    if (isEntry(part)) count++;
    else size += isBaseRange(part) ? part.to - part.from : Buffer.byteLength(part, 'utf8') + 1;
  }
  const stats = statColumn(count, spillAt);
  try {
    return await takeStats(p, statOf, statStep, stats, size);
  } catch (error) {
    stats.close();
    throw error;
  }
}

/** The first pass: every written entry's fresh stat into `stats`, and the file's size counted. */
async function takeStats(
  p: PendingManifest,
  statOf: (paths: string[]) => Promise<ReadonlyMap<string, FileStat>>,
  statStep: number,
  stats: StatColumn,
  size: number,
): Promise<ManifestBytes> {
  // The stats, in order of the written entries, and their lines' sizes. Up to STAT_AHEAD batches
  // are asked for before the first is taken in: over SSH each batch was a round trip of its own,
  // the host idle while this side took the answer in (20,000 files: 5 in a row).
  let batch: ManifestEntry[] = [];
  let taken = 0;
  const asked: Array<{ batch: ManifestEntry[]; fresh: Promise<ReadonlyMap<string, FileStat>> }> = [];
  const takeIn = async () => {
    const next = asked.shift()!;
    const fresh = await next.fresh;
    const before = taken;
    for (const e of next.batch) {
      const s = fresh.get(e.path);
      stats.push(s);
      taken++;
      size += lineBytes(e, s);
    }
    if (Math.floor(before / PER_TURN) !== Math.floor(taken / PER_TURN))
      await new Promise((resolve) => setImmediate(resolve));
  };
  const ask = async () => {
    const fresh = statOf(batch.map((e) => e.path));
    // Awaited in order below; a later batch failing first must not be an unhandled rejection.
    fresh.catch(() => {});
    asked.push({ batch, fresh });
    batch = [];
    if (asked.length >= STAT_AHEAD) await takeIn();
  };
  for (const part of p.parts) {
    if (!isEntry(part)) continue;
    batch.push(part);
    if (batch.length >= statStep) await ask();
  }
  if (batch.length > 0) await ask();
  while (asked.length > 0) await takeIn();
  let hash = createHash('sha256');
  let made = 0;
  return {
    size,
    *chunks(reuse = false) {
      // Each pass makes the bytes again (a refused patch, then the whole file): the hash is the last one's.
      hash = createHash('sha256');
      made = 0;
      const copy = reuse ? 'reuse' : 'copy';
      for (const c of chunksOf(p, stats, copy) as Generator<Buffer, void, undefined>) {
        hash.update(c);
        made += c.length;
        yield c;
      }
    },
    sha256() {
      // A size counted apart from the bytes made: a mismatch is a bug, never a recorded file.
      if (made !== size) throw new Error(`the manifest made ${made} bytes where ${size} were counted`);
      return hash.copy().digest('hex');
    },
    patch: () => chunksOf(p, stats, 'ranges'),
    close: () => stats.close(),
  };
}

/**
 * The file's bytes in chunks of up to CHUNK_BYTES, and the previous file's byte ranges read
 * from it a chunk at a time (`reuse`: into one buffer; `ranges`: as offsets in it).
 */
function* chunksOf(
  p: PendingManifest,
  stats: StatColumn,
  base: 'copy' | 'reuse' | 'ranges',
): Generator<PatchPart, void, undefined> {
  let scratch: Buffer | undefined;
  // `reuse`: the consumer is done with a chunk before it asks for the next (~18 MB of
  // buffers fewer waiting for a collection while a 500,000-file manifest is written).
  const text = new TextChunks(CHUNK_BYTES, base === 'reuse');
  const nextStat = stats.reader();
  for (const part of p.parts) {
    if (isBaseRange(part)) {
      const full = text.take();
      if (full) yield full;
      if (base === 'ranges') yield part;
      else
        for (let at = part.from; at < part.to; at += RANGE_STEP) {
          if (base === 'reuse') scratch ??= Buffer.allocUnsafe(RANGE_STEP);
          yield p.base!.read(at, Math.min(part.to, at + RANGE_STEP), scratch);
        }
      continue;
    }
    const line = typeof part === 'string' ? part : lineWithStat(part, nextStat());
    const full = text.roomFor(line, true);
    if (full) yield full;
    text.put(line, true);
  }
  const last = text.take();
  if (last) yield last;
}

const isEntry = (part: ManifestPart): part is ManifestEntry => typeof part !== 'string' && !isBaseRange(part);
