/**
 * Text made line by line into chunks of UTF-8, each line written into the chunk's buffer
 * as it is made: its string dies young. Lines held in an array until a chunk was joined
 * outlived the young generation and were promoted (a 500,000-entry manifest or backup
 * listing's worth of old space). Used by the manifest and backup writers.
 */
export class TextChunks {
  private chunk: Buffer;
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
    if (most > this.chunk.length) this.chunk = Buffer.allocUnsafe(most);
    return full;
  }

  /** Add `text` (and a newline), after roomFor made room for it. */
  put(text: string, newline = false): void {
    this.used += this.chunk.write(text, this.used);
    if (newline) this.chunk[this.used++] = 0x0a;
  }

  /** What was added since the last chunk handed on; undefined when nothing was. */
  take(): Buffer | undefined {
    if (this.used === 0) return undefined;
    const done = this.chunk.subarray(0, this.used);
    if (!this.reuse) this.chunk = Buffer.allocUnsafe(this.size);
    this.used = 0;
    return done;
  }
}

/** A UTF-16 unit is at most 3 bytes of UTF-8. */
const maxBytes = (text: string, newline: boolean) => text.length * 3 + (newline ? 1 : 0);
