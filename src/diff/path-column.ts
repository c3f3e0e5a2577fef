/**
 * A listing's paths kept as front-coded bytes, outside the heap, made into strings when asked.
 *
 * Why: a 35-character path is a 56-byte string on V8's heap; a release listing's paths come in
 * byte order, so the paths of a block of RESTART share most of their bytes with its first one
 * (their folder and the start of their names). The block's first path is kept whole; each other
 * one is the count of bytes it shares with that first path, the count of the rest, then the
 * rest: ~10 bytes for such a path. Any path is made from at most two records (its block's
 * first, kept decoded while that block is read, and its own), in any order of reading: a
 * listing is read by several readers at once (the staging's batches, the backup, the manifest).
 */

import { listingMemory, SpilledChunks } from './spilled-chunks.js';

/** The first path of each block of RESTART is kept whole. */
const RESTART = 16;
/** Bytes of each storage chunk; a path's record never spans two. */
const CHUNK_BYTES = 256 * 1024;
/** The longest path kept (bytes, UTF-8): longer ones are refused (the caller keeps a plain change). */
export const MAX_PATH_BYTES = 16 * 1024;

/** Whether `path` is short enough for a column (its UTF-8 bytes counted only when it could be over). */
export const fitsColumn = (path: string): boolean =>
  path.length * 3 <= MAX_PATH_BYTES || Buffer.byteLength(path, 'utf8') <= MAX_PATH_BYTES;
/** Positions per index chunk (never copied as the column grows). */
const INDEX_CHUNK = 8192;

/** A growing column of paths, each read back by its index. */
export class PathColumn {
  /** The records, CHUNK_BYTES to a buffer; past `memory` bytes the full ones wait in a file. */
  private readonly chunks: SpilledChunks;
  /**
   * Where each path's record starts (chunk number × CHUNK_BYTES + offset), INDEX_CHUNK 32-bit
   * positions to a chunk: 4 bytes a path, spilled past `memory` bytes as the records are.
   */
  private readonly index: SpilledChunks;
  private used = CHUNK_BYTES; // no chunk yet: the first push makes one
  private count = 0;
  /** The first path of the block being pushed to, as bytes. */
  private pushHead: Buffer = Buffer.allocUnsafe(1024);
  private pushHeadLength = 0;
  /** The path being pushed, as bytes. */
  private scratch: Buffer = Buffer.allocUnsafe(1024);
  /** The first path of the block read last (`readBlock`), as bytes. */
  private readHead: Buffer = Buffer.allocUnsafe(1024);
  private readHeadLength = 0;
  private readBlock = -1;
  /** The path made last: its bytes, how many of them lead as the block's first path's do. */
  private made: Buffer = Buffer.allocUnsafe(1024);
  private madeShared = 0;
  /** The string given last, and its index: a path read again is not made again. */
  private lastString = '';
  private lastAt = -1;

  constructor(memory = listingMemory()) {
    this.chunks = new SpilledChunks(CHUNK_BYTES, memory);
    this.index = new SpilledChunks(INDEX_CHUNK * 4, memory);
  }

  get length(): number {
    return this.count;
  }

  /** Keep `path`; false when it is longer than MAX_PATH_BYTES (nothing kept then). */
  push(path: string): boolean {
    if (!fitsColumn(path)) return false;
    const size = Buffer.byteLength(path, 'utf8');
    if (this.scratch.length < size) this.scratch = grow(this.scratch, size, 0);
    const bytes = this.scratch;
    bytes.write(path, 0, 'utf8');
    const head = this.count % RESTART === 0;
    let shared = 0;
    if (!head) {
      const max = Math.min(this.pushHeadLength, size);
      const first = this.pushHead;
      while (shared < max && first[shared] === bytes[shared]) shared++;
    }
    const rest = size - shared;
    const record = varintSize(shared) + varintSize(rest) + rest;
    if (this.used + record > CHUNK_BYTES) {
      this.chunks.add();
      this.used = 0;
    }
    const chunkNo = this.chunks.length - 1;
    const chunk = this.chunks.get(chunkNo); // the last: always in memory
    const slot = this.count % INDEX_CHUNK;
    // A new index chunk at each INDEX_CHUNK paths, else the last one (always in memory).
    const positions = slot === 0 ? this.index.add() : this.index.get(this.index.length - 1);
    positions.writeUInt32LE(chunkNo * CHUNK_BYTES + this.used, slot * 4);
    let o = writeVarint(chunk, this.used, shared);
    o = writeVarint(chunk, o, rest);
    copyBytes(bytes, shared, size, chunk, o);
    this.used = o + rest;
    if (head) {
      if (this.pushHead.length < size) this.pushHead = grow(this.pushHead, size, 0);
      copyBytes(bytes, 0, size, this.pushHead, 0);
      this.pushHeadLength = size;
    }
    this.count++;
    return true;
  }

  /** The path at `i` (0 ≤ i < length). */
  at(i: number): string {
    if (i === this.lastAt) return this.lastString;
    const block = i - (i % RESTART);
    if (block !== this.readBlock) {
      // The block's first path, whole: read into readHead.
      const [, rest, o, chunk] = this.record(block);
      if (this.readHead.length < rest) this.readHead = grow(this.readHead, rest, 0);
      copyBytes(chunk, o, o + rest, this.readHead, 0);
      this.readHeadLength = rest;
      this.readBlock = block;
      this.madeShared = 0; // `made` holds another block's path
    }
    let text: string;
    if (i === block) text = this.readHead.toString('utf8', 0, this.readHeadLength);
    else {
      const [shared, rest, o, chunk] = this.record(i);
      if (this.made.length < shared + rest) this.made = grow(this.made, shared + rest, this.madeShared);
      // `made` already leads with madeShared bytes of the block's first path: only the rest is copied.
      if (shared > this.madeShared)
        copyBytes(this.readHead, this.madeShared, shared, this.made, this.madeShared);
      copyBytes(chunk, o, o + rest, this.made, shared);
      this.madeShared = shared;
      text = this.made.toString('utf8', 0, shared + rest);
    }
    this.lastAt = i;
    this.lastString = text;
    return text;
  }

  /** Record `k`: its shared count, its rest's length, where the rest starts, in which chunk. */
  private record(k: number): [number, number, number, Buffer] {
    const pos = this.index.get(Math.floor(k / INDEX_CHUNK)).readUInt32LE((k % INDEX_CHUNK) * 4);
    const chunk = this.chunks.get(Math.floor(pos / CHUNK_BYTES));
    let o = pos % CHUNK_BYTES;
    // Two varints of at most 3 bytes each.
    let shared = 0;
    for (let shift = 0; ; shift += 7) {
      const byte = chunk[o++]!;
      shared |= (byte & 0x7f) << shift;
      if (byte < 0x80) break;
    }
    let rest = 0;
    for (let shift = 0; ; shift += 7) {
      const byte = chunk[o++]!;
      rest |= (byte & 0x7f) << shift;
      if (byte < 0x80) break;
    }
    return [shared, rest, o, chunk];
  }
}

/** Bytes [from, to) of `src` into `dst` at `at`: a loop for a path's few bytes (no native call). */
function copyBytes(src: Buffer, from: number, to: number, dst: Buffer, at: number): void {
  if (to - from > 64) {
    src.copy(dst, at, from, to);
    return;
  }
  for (let k = from; k < to; k++) dst[at++] = src[k]!;
}

/** A bigger buffer holding the first `keep` bytes of `b`. */
function grow(b: Buffer, need: number, keep: number): Buffer {
  const next = Buffer.allocUnsafe(Math.max(need, b.length * 2));
  b.copy(next, 0, 0, keep);
  return next;
}

const varintSize = (n: number): number => (n < 0x80 ? 1 : n < 0x4000 ? 2 : 3);

function writeVarint(b: Buffer, o: number, n: number): number {
  while (n >= 0x80) {
    b[o++] = (n & 0x7f) | 0x80;
    n >>>= 7;
  }
  b[o++] = n;
  return o;
}
