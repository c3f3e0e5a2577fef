/**
 * Text made line by line into chunks of UTF-8, each line written into the chunk's buffer
 * as it is made: its string dies young. Lines held in an array until a chunk was joined
 * outlived the young generation and were promoted (a 500,000-entry manifest or backup
 * listing's worth of old space). Used by the manifest and backup writers.
 */
export class TextChunks {
  private chunk: Buffer;
  /** The text not handed on yet: `chunk` from `start` to `used`. */
  private start = 0;
  private used = 0;

  /**
   * `reuse`: one buffer for every chunk, for a consumer done with each chunk before it
   * asks for the next (no chunk's worth of garbage per chunk at 500,000 lines).
   */
  constructor(
    private readonly size: number,
    private readonly reuse: boolean,
  ) {
    this.chunk = Buffer.allocUnsafe(size);
  }

  /**
   * Room for `text` (and a newline after it): the full chunk to hand on first, if it had
   * none. Hand it on before `put`: with `reuse`, put writes over it.
   */
  roomFor(text: string, newline = false): Buffer | undefined {
    const most = maxBytes(text, newline);
    if (this.used + most <= this.chunk.length) return undefined;
    const full = this.take();
    // This buffer has no room left: a new one (with `reuse`, the same one again when the text fits).
    if (!this.reuse || most > this.chunk.length) this.chunk = Buffer.allocUnsafe(Math.max(this.size, most));
    this.start = this.used = 0;
    return full;
  }

  /** Add `text` (and a newline), after roomFor made room for it. */
  put(text: string, newline = false): void {
    this.used += this.chunk.write(text, this.used);
    if (newline) this.chunk[this.used++] = 0x0a;
  }

  /**
   * What was added since the last chunk handed on; undefined when nothing was. Without `reuse`
   * the next text goes after it in the same buffer, never over it: a chunk handed on early (a
   * manifest's few new lines before a range of the previous file, at each of an update's changes)
   * cost a whole new buffer each, 50 MB of them for an update of 100 files into 100,000.
   */
  take(): Buffer | undefined {
    if (this.used === this.start) return undefined;
    const done = this.chunk.subarray(this.start, this.used);
    if (this.reuse) this.used = 0;
    this.start = this.used;
    return done;
  }
}

/** A UTF-16 unit is at most 3 bytes of UTF-8. */
const maxBytes = (text: string, newline: boolean) => text.length * 3 + (newline ? 1 : 0);
