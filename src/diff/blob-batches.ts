/**
 * Many blobs read through one `git cat-file --batch` of their own, its output
 * cut into the blobs' bytes as it arrives, and handed on in batches (a few
 * hundred small files at a time), not one request, promise and parse per blob
 * as GitObjects does. For a first deploy of thousands of small files, that
 * per-blob work was most of this side's CPU. A blob bigger than `maxBlob`, a
 * missing one or another type is skipped (its bytes dropped as they pass, never
 * held): the caller reads it the ordinary way, which also says what is wrong.
 */
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { GitError } from '../errors.js';
import { spawnGit, takeEarly, type GitListeners } from './early-git.js';
import { BATCH_HEADER, firstMessage, gitEnv } from './git.js';
import { CAT_FILE_BATCH } from './requests.js';

export interface BlobBatchOptions {
  /** Blobs bigger than this are skipped (returned, not handed on). */
  maxBlob: number;
  /** A batch is handed on once it holds this many bytes or `batchCount` blobs. */
  batchBytes: number;
  batchCount: number;
  /** Batches handed on and not yet settled, at most; git's output waits meanwhile. */
  inFlight: number;
}

/** One batch: the blobs' indices in `oids`, and their bytes (views of git's output, not copies). */
export type BlobBatch = (indices: number[], bodies: Buffer[]) => Promise<void>;

/**
 * Read `oids` and call `onBatch` for every batch, in order; resolves to the indices skipped once
 * every batch has settled. The first failure (git's, or a batch's) stops git and rejects, after
 * the batches in flight have settled.
 */
export function readBlobBatches(
  repo: string,
  oids: readonly string[] | BlobIds,
  options: BlobBatchOptions,
  onBatch: BlobBatch,
): Promise<number[]> {
  const ids: BlobIds = Array.isArray(oids) ? { length: oids.length, at: (i) => oids[i]! } : (oids as BlobIds);
  for (let i = 0; i < ids.length; i++) {
    const oid = ids.at(i);
    if (!/^[0-9a-f]{40,64}$/.test(oid))
      return Promise.reject(new GitError('E_GIT', `not a blob id: ${JSON.stringify(oid)}`));
  }
  return new BatchReader(repo, ids, options, onBatch).done;
}

/** The ids to read, asked one at a time (a first deploy's 500,000 are not put in an array of their own). */
export interface BlobIds {
  readonly length: number;
  at(i: number): string;
}

/** Ids written to git's stdin at a time. */
const IDS_STEP = 4096;

interface Batch {
  indices: number[];
  bodies: Buffer[];
  bytes: number;
}

interface Body {
  index: number;
  /** Bytes still to come, git's newline after the blob included. */
  left: number;
  size: number;
  /** The blob's bytes so far; null for a blob skipped. */
  parts: Buffer[] | null;
}

/** One git process and the parse of its output: headers, then each blob's bytes. */
class BatchReader {
  readonly done: Promise<number[]>;
  private readonly proc: ChildProcessWithoutNullStreams;
  private readonly skipped: number[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private failure: { error: unknown } | null = null;
  /** The index of the blob whose header comes next. */
  private next = 0;
  /** A header not ended yet. */
  private head: Buffer | null = null;
  private body: Body | null = null;
  private batch: Batch = { indices: [], bodies: [], bytes: 0 };
  /**
   * Output not parsed yet, in order, while `inFlight` batches are unsettled: the rest of a chunk,
   * then what came since. Pausing stdout is not enough to hold git's output back: Node resumes a
   * child's streams when it exits (child_process flushStdio), and a chunk parsed ahead of the held
   * rest made headers read out of place ("answered X for Y").
   */
  private readonly held: Buffer[] = [];
  /** git's exit, once it came: acted on when nothing is held. */
  private exited: (() => void) | null = null;

  constructor(
    repo: string,
    private readonly oids: BlobIds,
    private readonly options: BlobBatchOptions,
    private readonly onBatch: BlobBatch,
  ) {
    // One started ahead for this repository, waiting on its stdin (warm-git.ts), else a new one.
    const env = gitEnv();
    const early = takeEarly(repo, CAT_FILE_BATCH, undefined, env);
    const proc = early?.child ?? spawnGit(repo, CAT_FILE_BATCH, env);
    this.proc = proc;
    const stderr: Buffer[] = [];
    this.done = new Promise<number[]>((resolve, reject) => {
      const closed = (code: number | null) => {
        this.exited = () => {
          this.exited = null;
          if (!this.failure && (code !== 0 || this.next !== oids.length || this.body || this.head)) {
            const why = firstMessage(Buffer.concat(stderr).toString('utf8')) ?? `exit code ${code}`;
            this.failure = { error: new GitError('E_GIT', `git cat-file --batch ended early (${why})`) };
          }
          this.send();
          // A batch may still fail: what it says is known once every one has settled.
          void Promise.all(this.inFlight).then(() =>
            this.failure ? reject(this.failure.error) : resolve(this.skipped),
          );
        };
        if (this.held.length === 0) this.exited();
      };
      const heard: GitListeners = {
        out: (chunk) => this.take(chunk),
        err: (chunk) => stderr.push(chunk),
        error: (error) =>
          this.fail(new GitError('E_GIT', `cannot run git: ${error.message}`, { cause: error })),
        close: closed,
      };
      if (early) early.attach(heard);
      else {
        proc.stdout.on('data', heard.out);
        proc.stderr.on('data', heard.err);
        proc.on('error', heard.error);
        proc.on('close', heard.close);
      }
      proc.stdin.on('error', () => undefined); // git ended first: its exit says why
      this.ask(0);
    });
  }

  /**
   * Write the ids from `from` on to git's stdin, IDS_STEP at a time as it takes them: all of them
   * in one string waited in the pipe's queue for most of a deploy (~20 MB at 500,000 files, plus
   * the string). git reads them as it answers, so what waits is bounded by the pipe and a step.
   */
  private ask(from: number): void {
    const stdin = this.proc.stdin;
    let at = from;
    while (at < this.oids.length && !this.failure) {
      const end = Math.min(this.oids.length, at + IDS_STEP);
      let ids = '';
      for (let i = at; i < end; i++) ids += `${this.oids.at(i)}\n`;
      const more = stdin.write(ids);
      at = end;
      if (!more) return void stdin.once('drain', () => this.ask(at));
    }
    stdin.end();
  }

  private fail(error: unknown): void {
    this.failure ??= { error };
    this.proc.kill();
  }

  /** Parse a chunk, after whatever is held; hold the rest while too many batches are unsettled. */
  private take(chunk: Buffer): void {
    if (this.failure) return;
    if (this.held.length > 0) return void this.held.push(chunk);
    this.held.push(chunk);
    this.drain();
  }

  /** Parse the held output in order; stop (git's output paused) where too many batches are unsettled. */
  private drain(): void {
    try {
      while (this.held.length > 0 && !this.failure) {
        const chunk = this.held[0]!;
        const at = this.feed(chunk);
        if (at === chunk.length) {
          this.held.shift();
          continue;
        }
        this.held[0] = chunk.subarray(at);
        this.proc.stdout.pause();
        void Promise.race(this.inFlight).then(() => this.drain());
        return;
      }
      this.held.length = 0;
      this.proc.stdout.resume();
      this.exited?.();
    } catch (error) {
      // Nothing more is parsed: git's exit (now or when it comes) settles `done` with this failure.
      this.held.length = 0;
      this.fail(error);
      this.exited?.();
    }
  }

  /** Hand the batch on. */
  private send(): void {
    if (this.batch.indices.length === 0 || this.failure) return;
    const { indices, bodies } = this.batch;
    this.batch = { indices: [], bodies: [], bytes: 0 };
    const settled: Promise<void> = this.onBatch(indices, bodies).then(
      () => void this.inFlight.delete(settled),
      (error: unknown) => {
        this.inFlight.delete(settled);
        this.fail(error);
      },
    );
    this.inFlight.add(settled);
  }

  private header(line: string): void {
    const index = this.next++;
    const m = BATCH_HEADER.exec(line);
    if (!m) return void this.skipped.push(index); // missing: no bytes follow
    const asked = this.oids.at(index);
    if (m[1] !== asked) throw new GitError('E_GIT', `git cat-file --batch answered ${m[1]} for ${asked}`);
    const size = Number(m[3]);
    const keep = m[2] === 'blob' && size <= this.options.maxBlob;
    if (!keep) this.skipped.push(index);
    this.body = { index, left: size + 1, size, parts: keep ? [] : null };
  }

  private ended(b: Body, last: Buffer): void {
    if (last[last.length - 1] !== 10)
      throw new GitError('E_GIT', 'git cat-file --batch: a blob not ended by a newline');
    if (!b.parts) return;
    const whole = b.parts.length === 1 ? b.parts[0]! : Buffer.concat(b.parts);
    const batch = this.batch;
    batch.indices.push(b.index);
    batch.bodies.push(whole.subarray(0, b.size));
    batch.bytes += b.size;
    // The last blob ends the last batch: handed on now, not once git has exited.
    const final = b.index === this.oids.length - 1;
    if (final || batch.bytes >= this.options.batchBytes || batch.indices.length >= this.options.batchCount)
      this.send();
  }

  /** Parse `chunk` to its end, or to where `inFlight` batches are unsettled: where it stopped. */
  private feed(chunk: Buffer): number {
    let at = 0;
    while (at < chunk.length) {
      if (this.inFlight.size >= this.options.inFlight) return at;
      const body = this.body;
      if (body) {
        const take = Math.min(body.left, chunk.length - at);
        const part = chunk.subarray(at, at + take);
        body.parts?.push(part);
        at += take;
        body.left -= take;
        if (body.left === 0) {
          this.body = null;
          this.ended(body, part);
        }
        continue;
      }
      const nl = chunk.indexOf(10, at);
      if (nl === -1) {
        this.head = Buffer.concat(this.head ? [this.head, chunk.subarray(at)] : [chunk.subarray(at)]);
        return chunk.length;
      }
      const tail = chunk.subarray(at, nl);
      this.header((this.head ? Buffer.concat([this.head, tail]) : tail).toString('latin1'));
      this.head = null;
      at = nl + 1;
    }
    return at;
  }
}
