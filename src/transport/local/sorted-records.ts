/**
 * The sorted walk's records (find-walk.ts): read from a pipeline's output in
 * runs (`Records`), and visited in order (`InOrder`): the order checked on
 * bytes (sort's own order, exact for any name), each record then settled or
 * visited as find-records.ts's RecordVisitor does.
 */
import type { ChildProcess } from 'node:child_process';
import { compareBytes } from '../../same-bytes.js';
import { RecordVisitor } from './find-records.js';

/**
 * A record's bytes, `data[at, end)`. Chunks are never reused, so a view of an earlier one
 * stays valid (the previous path, compared with the next).
 */
type TakeRecord = (data: Buffer, at: number, end: number) => boolean;

/** A pipeline's NUL-ended records, read in runs: a run stops before the record its taker refuses. */
export class Records {
  private readonly chunks: AsyncIterator<Buffer>;
  /** Unread records (from a record's start) of a chunk, left by a refused record. */
  private pending: Buffer | null = null;
  /** A partial record at a chunk's end, kept for the next chunk. */
  carry: Buffer | null = null;

  constructor(p: { readonly child: ChildProcess; release(): void }) {
    this.chunks = (p.child.stdout! as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
    p.release();
  }

  /** Give records to `take` until it refuses one (true) or the output ends (false). */
  async each(take: TakeRecord): Promise<boolean> {
    for (;;) {
      let data: Buffer;
      if (this.pending !== null) {
        data = this.pending;
        this.pending = null;
      } else {
        const next = await this.chunks.next();
        if (next.done) return false;
        data = this.carry === null ? next.value : Buffer.concat([this.carry, next.value]);
        this.carry = null;
      }
      let at = 0;
      for (let end = data.indexOf(0, at); end >= 0; end = data.indexOf(0, at)) {
        if (!take(data, at, end)) {
          this.pending = data.subarray(at);
          return true;
        }
        at = end + 1;
      }
      if (at < data.length) this.carry = Buffer.from(data.subarray(at));
    }
  }

  /** The first record (a pipeline's status), null when there is none. */
  async first(): Promise<string | null> {
    let rec: string | null = null;
    await this.each((data, at, end) => {
      if (rec !== null) return false;
      rec = data.toString('utf8', at, end);
      return true;
    });
    return rec;
  }
}

/** A walk's records in order, from one pipeline after another: each path after the one before. */
export class InOrder extends RecordVisitor {
  // The previous record's path (a folder's with its slash): `prev[prevFrom, prevTo)`.
  private prev: Buffer = Buffer.alloc(0);
  private prevFrom = 0;
  private prevTo = 0;

  // Checked across pipelines too: a range out of its place fails here.
  protected override seen(data: Buffer, from: number, end: number): void {
    if (compareBytes(this.prev, this.prevFrom, this.prevTo, data, from, end) >= 0)
      throw this.fail(
        `entries out of order: ${JSON.stringify(this.prev.toString('utf8', this.prevFrom, this.prevTo))} before ${JSON.stringify(data.toString('utf8', from, end))}`,
      );
    this.prev = data;
    this.prevFrom = from;
    this.prevTo = end;
  }

  /** Whether the last record's path (a folder's with its slash) is `key`. */
  lastIs(key: Buffer): boolean {
    return compareBytes(this.prev, this.prevFrom, this.prevTo, key, 0, key.length) === 0;
  }
}
