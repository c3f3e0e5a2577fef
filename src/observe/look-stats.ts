/**
 * The stats an SSH look sent (observe-look.ts), kept as text outside the heap until
 * the merge asks for the few it compares. The look sends a stat with every file and
 * link that differs from the manifest, strays included, and only a compared entry (a
 * release file, a path the diff names) needs it. As objects they were most of the
 * look's heap: a FileStat, three number strings and the answer's text those strings
 * were slices of, ~200 bytes a stray (200,000 strays deleted over SSH: node peaked at
 * 176 MiB). Here ~55 bytes of text and a byte of length each, in chunks that go to a
 * temporary file past the listing's memory (diff/spilled-chunks.ts), as a release
 * listing's do: a million strays cost the process ~1 MB.
 */
import type { FileStat } from '../plan/manifest-types.js';
import { SpilledChunks } from '../diff/spilled-chunks.js';

/** Bytes of each chunk; a stat's text never spans two. */
const CHUNK_BYTES = 64 * 1024;

export class LookStats {
  private readonly chunks: SpilledChunks;
  private chunk: Buffer | undefined;
  private used = CHUNK_BYTES; // no chunk yet: the first stat makes one
  /** Each entry's text length (a stat's text is at most ~115 bytes: stat-digits.ts); 0: none. */
  private lengths = new Uint8Array(1024);
  private count = 0;
  /** The reading cursor: the next entry, and the chunk and offset where push put the text before it. */
  private next = 0;
  private readChunk = -1;
  private readUsed = CHUNK_BYTES;

  constructor(memory?: number) {
    this.chunks = new SpilledChunks(CHUNK_BYTES, memory);
  }

  get length(): number {
    return this.count;
  }

  /** The next entry's stat, or null for an entry sent without one (a folder). */
  push(stat: FileStat | null): void {
    if (this.count === this.lengths.length) {
      const more = new Uint8Array(this.lengths.length * 2);
      more.set(this.lengths);
      this.lengths = more;
    }
    if (stat === null) {
      this.lengths[this.count++] = 0;
      return;
    }
    // Digits, signs and commas (the look's record pattern bounds each number): a byte a character.
    const text = `${stat.size},${stat.mtimeNs},${stat.ctimeNs},${stat.ino},${stat.mode}`;
    if (text.length > 255) throw new RangeError(`a stat of ${text.length} characters`);
    if (this.used + text.length > CHUNK_BYTES) {
      this.chunk = this.chunks.add();
      this.used = 0;
    }
    this.used += this.chunk!.write(text, this.used, 'latin1');
    this.lengths[this.count++] = text.length;
  }

  /**
   * Entry i's stat (a new object), null when it was sent without one. Read in increasing
   * order (the merge's), each costs only its own text; an earlier entry starts over.
   */
  get(i: number): FileStat | null {
    if (i < this.next) [this.next, this.readChunk, this.readUsed] = [0, -1, CHUNK_BYTES];
    for (; this.next <= i; this.next++) {
      const length = this.lengths[this.next]!;
      if (length === 0) continue;
      // Where push put it: the chunk's room, else the start of the next chunk.
      if (this.readUsed + length > CHUNK_BYTES) [this.readChunk, this.readUsed] = [this.readChunk + 1, 0];
      this.readUsed += length;
    }
    const length = this.lengths[i]!;
    if (length === 0) return null;
    const from = this.readUsed - length;
    const [size, mtimeNs, ctimeNs, ino, mode] = this.chunks
      .get(this.readChunk)
      .toString('latin1', from, this.readUsed)
      .split(',');
    return { size: Number(size), mtimeNs: mtimeNs!, ctimeNs: ctimeNs!, ino: ino!, mode: Number(mode) };
  }

  /** Whether entry i was sent with a stat (a file or a link). */
  has(i: number): boolean {
    return this.lengths[i]! > 0;
  }
}
