/**
 * The bytes of one blob on their way out of `git cat-file --batch`, handed to
 * one consumer in the order git wrote them. The reader (git-objects.ts) pushes
 * chunks as they arrive and stops reading git's output while the consumer is
 * more than HIGH_WATER bytes behind, so a blob of any size holds at most about
 * HIGH_WATER + one pipe read (64 KiB) in memory.
 *
 * git answers requests in order on one pipe: the blobs behind this one wait
 * until it is read or discarded. A consumer that stops early (a failed write)
 * must call `discard()` (iterating with `for await` and leaving the loop does it).
 */
/** Bytes queued for the consumer above which git's output is paused. */
export const HIGH_WATER = 256 * 1024;

export class BlobBody implements AsyncIterable<Buffer> {
  private queue: Buffer[] = [];
  private queued = 0;
  private received = 0;
  private failure: Error | null = null;
  private discarded = false;
  private wake: (() => void) | null = null;
  /** Set by the reader: called when the consumer has caught up, to read on. */
  onDrain: (() => void) | null = null;

  constructor(
    readonly oid: string,
    readonly size: number,
  ) {}

  /** A body already whole in memory (a small blob): one chunk, nothing to wait for. */
  static whole(oid: string, content: Buffer): BlobBody {
    const body = new BlobBody(oid, content.length);
    if (content.length > 0) body.push(content);
    return body;
  }

  /**
   * All the bytes, taken at once, when every one has arrived and none was taken yet (a
   * small blob: BlobBody.whole); else undefined, and the consumer iterates.
   */
  whole(): Buffer | undefined {
    if (this.discarded || this.received < this.size || this.queued !== this.size) return undefined;
    const bytes = this.queue.length === 1 ? this.queue[0]! : Buffer.concat(this.queue, this.size);
    this.queue = [];
    this.queued = 0;
    return bytes;
  }

  /** Bytes received from git and not yet taken by the consumer. */
  get buffered(): number {
    return this.queued;
  }

  /** From the reader: the next bytes. false: stop reading until `onDrain`. */
  push(chunk: Buffer): boolean {
    this.received += chunk.length;
    if (this.discarded) return true;
    this.queue.push(chunk);
    this.queued += chunk.length;
    this.wakeUp();
    return this.queued < HIGH_WATER;
  }

  /** From the reader: git ended before the whole body came. */
  fail(error: Error): void {
    this.failure ??= error;
    this.wakeUp();
  }

  /** Drop what is queued and what is still to come, so git's later answers flow again. Safe to repeat. */
  discard(): void {
    if (this.discarded) return;
    this.discarded = true;
    this.queue = [];
    this.queued = 0;
    this.wakeUp();
    this.onDrain?.();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Buffer, void, undefined> {
    try {
      for (;;) {
        const chunk = this.queue.shift();
        if (chunk) {
          const before = this.queued;
          this.queued -= chunk.length;
          if (before >= HIGH_WATER && this.queued < HIGH_WATER) this.onDrain?.();
          yield chunk;
          continue;
        }
        if (this.discarded) throw new Error(`blob ${this.oid} was discarded while being read`);
        if (this.received >= this.size) return;
        if (this.failure) throw this.failure;
        await new Promise<void>((resolve) => (this.wake = resolve));
      }
    } finally {
      // Left early (the consumer failed or stopped): let git's later answers through.
      if (this.received < this.size || this.queue.length > 0) this.discard();
    }
  }

  private wakeUp(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }
}
