/**
 * Many small files written off the event loop (LocalTransport.writeMany: a big staging's
 * batches). One worker thread per target creates them with synchronous calls, one after
 * another, and hashes each as git does, while the main thread reads the next batch out of git.
 * On one target the main thread did both: a 500,000-file first deploy spent half of it in the
 * kernel creating files, which now overlaps the rest. One writer: the file system's journal
 * serialises creates anyway (two writers were no faster on the same disk). Once the staging is
 * written, the same thread takes half of the manifest's fresh lstats (lstatMany).
 *
 * The worker's code is self-contained (node:fs and node:crypto only) and given as text, so the
 * CLI bundle and the Action's single file need no second file to find at run time.
 */
import { Worker } from 'node:worker_threads';
import type { HashAlgorithm } from '../../diff/blob.js';
import { TransportError } from '../../errors.js';
import type { FileStat } from '../../plan/manifest-types.js';

/** The worker: open (never through a link at the end), write, set the mode exactly, close, hash. */
const SOURCE = `
const { parentPort } = require('node:worker_threads');
const fs = require('node:fs');
const { createHash } = require('node:crypto');
const { O_WRONLY, O_CREAT, O_TRUNC, O_NOFOLLOW } = fs.constants;
parentPort.on('message', (m) => (m.lstat ? lstatAll(m) : writeAll(m)));
// Exact lstats: times and sizes as nanosecond BigInts, inode and mode; mode -1 for nothing there,
// -2 for another error (the main thread's own lstat then words it).
function lstatAll({ id, lstat }) {
  const times = new BigInt64Array(lstat.length * 2);
  const inos = new BigUint64Array(lstat.length);
  const nums = new Float64Array(lstat.length * 2);
  for (let k = 0; k < lstat.length; k++) {
    let s;
    try {
      s = fs.lstatSync(lstat[k], { bigint: true, throwIfNoEntry: false });
    } catch {
      nums[2 * k + 1] = -2;
      continue;
    }
    if (s === undefined) { nums[2 * k + 1] = -1; continue; }
    times[2 * k] = s.mtimeNs;
    times[2 * k + 1] = s.ctimeNs;
    inos[k] = s.ino;
    nums[2 * k] = Number(s.size);
    nums[2 * k + 1] = Number(s.mode);
  }
  parentPort.postMessage({ id, stats: { times, inos, nums } }, [times.buffer, inos.buffer, nums.buffer]);
}
function writeAll({ id, paths, modes, data, ends, algorithm }) {
  const bytes = new Uint8Array(data);
  const ids = [];
  let start = 0;
  for (let k = 0; k < paths.length; k++) {
    const body = bytes.subarray(start, ends[k]);
    start = ends[k];
    let fd = -1;
    try {
      fd = fs.openSync(paths[k], O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, modes[k]);
      for (let at = 0; at < body.length; ) at += fs.writeSync(fd, body, at, body.length - at);
      fs.fchmodSync(fd, modes[k]);
      fs.closeSync(fd);
    } catch (error) {
      if (fd >= 0) try { fs.closeSync(fd); } catch {}
      parentPort.postMessage({ id, failed: k, code: error.code, message: error.message, data }, [data]);
      return;
    }
    ids.push(createHash(algorithm).update('blob ' + body.length + '\\0').update(body).digest('hex'));
  }
  parentPort.postMessage({ id, ids, data }, [data]);
}
`;

/** A file of a transport's batch: its path in the target, its mode, its bytes. */
export interface BatchFile {
  rel: string;
  mode: number;
  data: Uint8Array;
}

/** The first file of a batch that could not be written: which one, and the system's error. */
class ThreadWriteError extends Error {
  constructor(
    readonly index: number,
    readonly code: string | undefined,
    message: string,
  ) {
    super(message);
  }
}

/** A batch's buffer at least this big (a batch is handed on at 512 KiB: stage-bulk.ts), reused. */
const BUFFER_BYTES = 1024 * 1024;
/** Buffers kept for reuse at most (the batches in flight at once). */
const SPARE_MAX = 8;
/** The thread's heap limits, in MiB (see `started`). */
const WORKER_LIMITS = { maxYoungGenerationSizeMb: 1, stackSizeMb: 1 };

/** The worker's answer to a batch: the ids, or the first file that failed; the batch's buffer back. */
interface Answer {
  id: number;
  ids?: string[];
  failed?: number;
  code?: string;
  message?: string;
  data?: ArrayBuffer;
  /** An lstat request's answer (the worker's lstatAll). */
  stats?: { times: BigInt64Array; inos: BigUint64Array; nums: Float64Array };
}

/** One path's lstat from the thread: its stat, null where nothing is, 'error' for another failure. */
export type ThreadStat = FileStat | null | 'error';

/** What the batches still waiting get when the thread is gone: a transport error, with its cause. */
function ended(how: string, cause?: unknown): TransportError {
  return new TransportError('E_TRANSPORT', `the local file writer thread ${how} before it answered`, {
    cause,
  });
}

interface Waiting {
  resolve(answer: Answer): void;
  reject(error: unknown): void;
}

export class WriterThread {
  private worker: Worker | null = null;
  private next = 0;
  private readonly waiting = new Map<number, Waiting>();
  /** Buffers the worker handed back, for the next batches. */
  private readonly spare: ArrayBuffer[] = [];

  /**
   * A transport's batch: each file's absolute path from `target.absolute` (which checks it),
   * each file written told to `target.written`; resolves to their git blob ids. The first
   * failure stops the batch (the files before it are written and told): `target.failed` names it.
   */
  async writeFiles(
    files: readonly BatchFile[],
    algorithm: HashAlgorithm,
    target: {
      absolute(rel: string): string;
      written(absolute: string): void;
      failed(rel: string, error: unknown): Error;
    },
  ): Promise<string[]> {
    const paths = files.map((f) => target.absolute(f.rel));
    try {
      const ids = await this.write(paths, files, algorithm);
      for (const p of paths) target.written(p);
      return ids;
    } catch (error) {
      if (!(error instanceof ThreadWriteError)) throw error;
      for (const p of paths.slice(0, error.index)) target.written(p);
      throw target.failed(files[error.index]!.rel, error);
    }
  }

  /**
   * Write `files` in order; resolves to their git blob ids, or rejects with the first failure
   * (ThreadWriteError; the files before it are written, none after it is tried).
   */
  private write(
    paths: readonly string[],
    files: readonly BatchFile[],
    algorithm: HashAlgorithm,
  ): Promise<string[]> {
    // The batch copied into a buffer handed over to the worker (not copied again), which hands it
    // back with its answer, for a later batch: no new megabyte a batch for two collectors to free.
    let size = 0;
    for (const f of files) size += f.data.byteLength;
    const spare = this.spare.findIndex((b) => b.byteLength >= size);
    const data = spare >= 0 ? this.spare.splice(spare, 1)[0]! : new ArrayBuffer(Math.max(size, BUFFER_BYTES));
    const view = new Uint8Array(data);
    const ends = new Int32Array(files.length);
    const modes = new Int32Array(files.length);
    let at = 0;
    files.forEach((f, k) => {
      view.set(f.data, at);
      at += f.data.byteLength;
      ends[k] = at;
      modes[k] = f.mode & 0o7777;
    });
    return this.ask({ paths, modes, data, ends, algorithm }, [data]).then((m) => {
      if (m.ids) return m.ids;
      throw new ThreadWriteError(m.failed ?? 0, m.code, m.message ?? 'write failed');
    });
  }

  /**
   * Exact lstats of `paths` (absolute, checked by the caller), made on the thread while the
   * caller makes others: a big manifest's fresh stats (500,000 files: ~1.5 s of lstats on one
   * core) are taken on both.
   */
  async lstatMany(paths: readonly string[]): Promise<ThreadStat[]> {
    const { stats } = await this.ask({ lstat: paths }, []);
    // No stats in the answer: the caller's own lstats say, as for any path the thread cannot.
    if (!stats) return paths.map(() => 'error');
    const { times, inos, nums } = stats;
    return paths.map((_, k) => {
      const mode = nums[2 * k + 1]!;
      if (mode === -1) return null;
      if (mode === -2) return 'error';
      return {
        size: nums[2 * k]!,
        mtimeNs: times[2 * k]!.toString(),
        ctimeNs: times[2 * k + 1]!.toString(),
        ino: inos[k]!.toString(),
        mode,
      };
    });
  }

  /** Post a request; resolves to the worker's answer to it. */
  private ask(message: object, transfer: ArrayBuffer[]): Promise<Answer> {
    const worker = this.started();
    const id = this.next++;
    return new Promise<Answer>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      // The process waits for the answer: the worker holds it open only while one is due.
      worker.ref();
      worker.postMessage({ id, ...message }, transfer);
    });
  }

  /** End the worker (what it was writing has been answered, or is given up). */
  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = null;
    if (worker) await worker.terminate();
    this.failAll(ended('was closed'));
  }

  private started(): Worker {
    if (this.worker) return this.worker;
    // Its garbage is a batch's paths and ids, dead by the next batch: a young generation of 1 MiB
    // (V8's default grows to 16) and a small stack. A 500,000-file first deploy: 185 → 180 MiB.
    const worker = new Worker(SOURCE, { eval: true, resourceLimits: WORKER_LIMITS });
    worker.on('message', (m: Answer) => {
      if (m.data && this.spare.length < SPARE_MAX) this.spare.push(m.data);
      const waiting = this.waiting.get(m.id);
      this.waiting.delete(m.id);
      if (this.waiting.size === 0) worker.unref();
      waiting?.resolve(m);
    });
    worker.on('error', (error) => this.failAll(ended('failed', error)));
    worker.on('exit', () => {
      // Closed on purpose: close() answers what was waiting, once the thread is gone.
      if (this.worker !== worker) return;
      this.worker = null;
      this.failAll(ended('ended'));
    });
    worker.unref();
    this.worker = worker;
    return worker;
  }

  private failAll(error: unknown): void {
    for (const w of this.waiting.values()) w.reject(error);
    this.waiting.clear();
  }
}
