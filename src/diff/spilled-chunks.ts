/**
 * The fixed-size chunks of a column that grows at its end and is read back in any order (a
 * release listing's table and its paths: listed-files.ts, path-column.ts). Past `keepBytes`,
 * each chunk that fills goes to a temporary file with no name (unlinked-temp.ts) and its
 * memory is dropped; a read of such a chunk goes through a few buffers that hold the chunks
 * read last.
 *
 * Why: a first deploy's listing takes ~35 bytes a file outside the heap for the whole deploy,
 * 35 MB at 1,000,000 files, which put its peak RSS over 150 MiB. Its readers (the staging's
 * batches, the manifest) each go through it in order, a few at once: a handful of chunks in
 * memory serves them, and the rest waits in the page cache, not in this process. Where the
 * temp folder refuses the file or a write to it, the chunks stay in memory.
 */
import { closeSync, readSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { ConfigError, GitError } from '../errors.js';
import { unlinkedTempFile } from '../unlinked-temp.js';

/** Bytes a column keeps in memory before it spills (a 100,000-file listing's table fits). */
const KEEP_BYTES = 2 * 2 ** 20;

/**
 * What a column keeps in memory: DIFFSHIP_LISTING_MEMORY bytes where set (0: every full chunk
 * spills; a big number: none does), else KEEP_BYTES.
 */
export function listingMemory(): number {
  const set = process.env.DIFFSHIP_LISTING_MEMORY;
  if (set === undefined || set === '') return KEEP_BYTES;
  if (!/^\d{1,15}$/.test(set))
    throw new ConfigError(
      `DIFFSHIP_LISTING_MEMORY=${JSON.stringify(set)} is not a byte count: give a whole number of bytes (0 spills all but the last chunk), or unset it`,
    );
  return Number(set);
}

/** Spilled chunks read back and held at once: a few readers, each in order. */
const CACHED = 8;

/** Spill files still open, closed once their column is garbage (a library's long-lived process). */
const files = new FinalizationRegistry<number>((fd) => {
  try {
    closeSync(fd);
  } catch {
    // already closed
  }
});

export class SpilledChunks {
  /** Chunk n's buffer while it is in memory; undefined once it is in the file. */
  private readonly held: (Buffer | undefined)[] = [];
  /** The file's descriptor, once a chunk went to it. */
  private fd: number | undefined;
  /** Set when the file could not be made or written: no more chunks go to it. */
  private refused = false;
  /** Spilled chunks read back: which chunk each buffer holds, and when it was last read. */
  private readonly cache: { n: number; buf: Buffer; used: number }[] = [];
  private tick = 0;

  constructor(
    readonly chunkBytes: number,
    private readonly keepBytes = listingMemory(),
  ) {}

  /** How many chunks there are. */
  get length(): number {
    return this.held.length;
  }

  /** Whether any chunk went to the file. */
  get spilled(): boolean {
    return this.held.some((c) => c === undefined);
  }

  /** A new last chunk, to be filled by the caller: the chunk before it is complete. */
  add(): Buffer {
    const n = this.held.length;
    if (n > 0 && n * this.chunkBytes > this.keepBytes && !this.refused) {
      const full = this.held[n - 1]!;
      // Its memory goes (readers come later, from the start: none would read it from a cache).
      if (this.spill(n - 1, full)) this.held[n - 1] = undefined;
    }
    const chunk = Buffer.allocUnsafe(this.chunkBytes);
    this.held.push(chunk);
    return chunk;
  }

  /** Chunk `n`. A spilled one's buffer is valid until the next read of another spilled chunk. */
  get(n: number): Buffer {
    const held = this.held[n];
    if (held !== undefined) return held;
    let oldest = this.cache[0];
    for (const c of this.cache) {
      if (c.n === n) {
        c.used = this.tick++;
        return c.buf;
      }
      if (oldest === undefined || c.used < oldest.used) oldest = c;
    }
    const slot =
      this.cache.length < CACHED || oldest === undefined
        ? { n, buf: Buffer.allocUnsafe(this.chunkBytes), used: 0 }
        : oldest;
    if (slot !== oldest) this.cache.push(slot);
    slot.n = -1; // not chunk n until it is read whole
    this.readBack(n, slot.buf);
    slot.n = n;
    slot.used = this.tick++;
    return slot.buf;
  }

  /** Chunk n into the file; false (and no more spills) where the file cannot be made or written. */
  private spill(n: number, chunk: Buffer): boolean {
    try {
      if (this.fd === undefined) {
        this.fd = unlinkedTempFile('diffship-listing');
        files.register(this, this.fd);
      }
      for (let at = 0; at < chunk.length;)
        at += writeSync(this.fd, chunk, at, chunk.length - at, n * this.chunkBytes + at);
      return true;
    } catch {
      // The chunks already in the file stay readable there; the rest stay in memory.
      this.refused = true;
      return false;
    }
  }

  private readBack(n: number, into: Buffer): void {
    const fd = this.fd!;
    try {
      for (let at = 0; at < into.length;) {
        const got = readSync(fd, into, at, into.length - at, n * this.chunkBytes + at);
        if (got === 0) throw new Error('the file ended early');
        at += got;
      }
    } catch (error) {
      throw new GitError(
        'E_GIT',
        `reading the release's listing back from its temporary file in ${tmpdir()} failed (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}): check that folder's disk, or point TMPDIR at another`,
        { cause: error },
      );
    }
  }
}
