/**
 * The writers' side of a ByteSource (transport.ts): exactly `size` bytes, and
 * the source's own failure (a corrupted or cut-short read of the repository)
 * kept apart from the target's, so that it reaches the caller as it was thrown
 * rather than as "cannot write" on the target.
 */
import type { ByteSource } from './transport.js';

export class CheckedSource implements ByteSource {
  /** What the source itself threw, if it did. */
  failure: unknown = undefined;
  /** Bytes handed to the writer so far. */
  taken = 0;

  constructor(private readonly source: ByteSource) {}

  get size(): number {
    return this.source.size;
  }

  get reused(): boolean | undefined {
    return this.source.reused;
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Buffer, void, undefined> {
    const it = this.source[Symbol.asyncIterator]();
    let finished = false;
    try {
      for (;;) {
        let next: IteratorResult<Buffer>;
        try {
          next = await it.next();
        } catch (error) {
          finished = true;
          this.failure = error;
          throw error;
        }
        if (next.done) {
          finished = true;
          break;
        }
        this.taken += next.value.length;
        if (this.taken > this.size)
          throw new Error(`the source gave more than the ${this.size} bytes it announced`);
        yield next.value;
      }
    } finally {
      // Left early: tell the source to drop the rest.
      if (!finished) await it.return?.();
    }
    this.checkTaken();
  }

  /** The whole source was taken: it must have been the size it announced. */
  private checkTaken(): void {
    if (this.taken !== this.size)
      throw new Error(`the source gave ${this.taken} bytes where it announced ${this.size}`);
  }

  /** The source's bytes at once, when it holds them whole (ByteSource.whole): counted and checked as iterating would. */
  whole(): Buffer | undefined {
    let bytes: Buffer | undefined;
    try {
      bytes = this.source.whole?.();
    } catch (error) {
      this.failure = error;
      throw error;
    }
    if (bytes === undefined) return undefined;
    this.taken = bytes.length;
    this.checkTaken();
    return bytes;
  }

  /** The error a writer reports: the source's own when it failed, else the writer's. */
  blame(writerError: unknown): unknown {
    return this.failure !== undefined ? this.failure : writerError;
  }
}
