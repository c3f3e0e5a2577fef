/**
 * The sorted walk's records (find-walk.ts): read from a pipeline's output in
 * runs (`Records`), and visited in order (`InOrder`): the order checked on
 * bytes (sort's own order, exact for any name), each record settled from its
 * bytes where the caller can, else decoded and visited.
 */
import type { ChildProcess } from 'node:child_process';
import type { FileStat } from '../../plan/manifest-types.js';
import type { SettleRaw, SortedVisit } from '../transport.js';
import { compareBytes } from '../../same-bytes.js';
import { RawRecord, pathAt, statOf, typeOfByte } from './find-records.js';

const DOT = 0x2e;
const SLASH = 0x2f;

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

/** A walk's records in order, from one pipeline after another. */
export class InOrder {
  // The previous record's path (a folder's with its slash): `prev[prevFrom, prevTo)`.
  private prev: Buffer = Buffer.alloc(0);
  private prevFrom = 0;
  private prevTo = 0;
  // The record being visited, parsed further only if the visitor asks for its stat.
  private current = '';
  private currentPath = '';
  private readonly raw = new RawRecord();

  /**
   * `lstat`: the exact lstat of a path whose record has no exact times; `fail` words a
   * malformed record or one out of order; `settle` as walkSorted's.
   */
  constructor(
    private readonly visit: SortedVisit,
    private readonly lstat: (rel: string) => FileStat | null,
    private readonly fail: (why: string) => Error,
    private readonly settle?: SettleRaw,
  ) {}

  private readonly exact = (rel: string): FileStat | null =>
    rel === this.currentPath ? (statOf(this.current) ?? this.lstat(rel)) : this.lstat(rel);

  /** Visit the record `data[at, end)`, whose path starts `strip` bytes after its fields (a range's: `./`). */
  readonly entry = (data: Buffer, at: number, end: number, strip: number): boolean => {
    const fields = pathAt(data, at, end);
    if (fields < 0 || (strip > 0 && (data[fields] !== DOT || data[fields + 1] !== SLASH)))
      throw this.fail(
        `a record without its fields: ${JSON.stringify(data.toString('utf8', at, Math.min(end, at + 200)))}`,
      );
    const from = fields + strip;
    // Checked across pipelines too: a range out of its place fails here.
    if (compareBytes(this.prev, this.prevFrom, this.prevTo, data, from, end) >= 0)
      throw this.fail(
        `entries out of order: ${JSON.stringify(this.prev.toString('utf8', this.prevFrom, this.prevTo))} before ${JSON.stringify(data.toString('utf8', from, end))}`,
      );
    this.prev = data;
    this.prevFrom = from;
    this.prevTo = end;
    const type = typeOfByte(data[at]!);
    const pathEnd = type === 'dir' ? end - 1 : end;
    if (this.settle?.(this.raw.at(data, at, fields, from, pathEnd, type))) return true;
    // Decoded on its own: a path the caller keeps holds its record, not the whole chunk.
    this.current = data.toString('utf8', at, end);
    this.currentPath = data.toString('utf8', from, pathEnd);
    this.visit(this.currentPath, type, this.exact);
    return true;
  };

  /** Whether the last record's path (a folder's with its slash) is `key`. */
  lastIs(key: Buffer): boolean {
    return compareBytes(this.prev, this.prevFrom, this.prevTo, key, 0, key.length) === 0;
  }
}
