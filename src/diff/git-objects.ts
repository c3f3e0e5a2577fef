/**
 * One long-lived `git cat-file --batch` per repository, answering every object
 * lookup of a run: refs to commits, `.diffshipignore` files, and blob contents.
 *
 * Why one process: each git process costs a fork of the whole Node process
 * (2–4 ms at a CLI's size) before git even starts. A deploy of 20 files used
 * to start four; a 50,000-file first deploy would start 50,000 without it.
 * The process starts on the first lookup and ends with `close()`.
 *
 * Names travel on stdin, one per line, so none is ever read as an option.
 * Answers come back in request order; requests made in the same turn of the
 * event loop go to git in one write.
 *
 * `--batch-command --buffer` (git ≥ 2.36): git buffers its headers and
 * writes them when each write of requests ends with `flush`. Plain `--batch`
 * writes every answer in three writes (header, body, newline); buffered, a
 * blob takes two (git still flushes before it streams a blob's body): at
 * 500,000 small blobs, half a million writes fewer on git's side, and fewer
 * reads on ours. An older git refuses the option before answering anything; the same
 * requests then go to a plain `--batch` started in its place.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { DiffshipError, GitError } from '../errors.js';
import { BATCH_HEADER, firstMessage, gitEnv, type CatFileResult } from './git.js';
import { BlobBody, HIGH_WATER } from './blob-body.js';
import { CAT_FILE_CONFIG } from './requests.js';

/** openBlob hands bodies up to this size over whole; bigger ones stream (blob-body.ts). */
export const WHOLE_MAX = HIGH_WATER;

interface Pending {
  name: string;
  resolve(result: CatFileResult): void;
  reject(error: Error): void;
  /** openBlob: a blob above WHOLE_MAX goes here as soon as its header is read. */
  onBody?: (body: BlobBody) => void;
}

export class GitObjects {
  private proc: ChildProcessWithoutNullStreams | null = null;
  private readonly queue: Pending[] = [];
  private buffer: Buffer = Buffer.alloc(0);
  /** Chunks received while waiting for a large body; joined once it is complete (no quadratic copying). */
  private chunks: Buffer[] = [];
  private chunkBytes = 0;
  private need = 0;
  private closed = false;
  private failure: Error | null = null;
  private outgoing: string[] = [];
  /** A git without `--batch-command` (older than 2.36): plain `--batch`, unbuffered. */
  private plain = false;
  /** Whether git has written anything yet: only a git that answered nothing is retried plain. */
  private answered = false;
  /** The blob being streamed to its consumer, and how many of its bytes (plus git's newline) are still to come. */
  private body: { reader: BlobBody; left: number } | null = null;

  constructor(readonly repo: string) {}

  /** Look up an object name (`v1^{commit}`, `<sha>:path`, a blob id). */
  lookup(name: string): Promise<CatFileResult> {
    return this.request(name);
  }

  private request(name: string, onBody?: (body: BlobBody) => void): Promise<CatFileResult> {
    if (/[\n\r\0]/.test(name))
      return Promise.reject(new GitError('E_GIT', `object name ${JSON.stringify(name)} holds a line break`));
    if (this.failure) return Promise.reject(this.failure);
    if (this.closed) return Promise.reject(new GitError('E_GIT', 'git cat-file is closed'));
    this.start();
    return new Promise((resolve, reject) => {
      this.queue.push({ name, resolve, reject, onBody });
      // At the end of this turn of the event loop, not of this microtask: callers that resume one
      // after another (a pool of writers freed together) ask git in one write, and git answers in one run.
      if (this.outgoing.length === 0) setImmediate(() => this.flush());
      this.outgoing.push(name);
    });
  }

  /** The bytes of a blob, by id. */
  async readBlob(oid: string): Promise<Buffer> {
    if (!/^[0-9a-f]{40,64}$/.test(oid)) throw new GitError('E_GIT', `not a blob id: ${oid}`);
    const result = await this.lookup(oid);
    if (!result.found) throw new GitError('E_GIT', `blob ${oid} is missing from the repository`);
    if (result.type !== 'blob') throw new GitError('E_GIT', `${oid} is a ${result.type}, not a blob`);
    return result.content;
  }

  /**
   * A blob's bytes as git writes them, never whole in memory above WHOLE_MAX: read them (or
   * `discard()` them) before the next answers can come. Resolves once git has found the blob.
   */
  async openBlob(oid: string): Promise<BlobBody> {
    if (!/^[0-9a-f]{40,64}$/.test(oid)) throw new GitError('E_GIT', `not a blob id: ${oid}`);
    // A streamed blob arrives through onBody (its lookup then never settles); a small one as a result.
    const result = await new Promise<CatFileResult | BlobBody>((resolve, reject) => {
      this.request(oid, resolve).then(resolve, reject);
    });
    if (result instanceof BlobBody) return result;
    if (!result.found) throw new GitError('E_GIT', `blob ${oid} is missing from the repository`);
    if (result.type !== 'blob') throw new GitError('E_GIT', `${oid} is a ${result.type}, not a blob`);
    return BlobBody.whole(result.oid, result.content);
  }

  /** Let git finish the requests already made, then end it. Safe to call twice. */
  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    this.proc?.stdin.end();
  }

  private start(): void {
    if (this.proc) return;
    const mode = this.plain ? ['--batch'] : ['--batch-command', '--buffer'];
    const args = ['-C', this.repo, ...CAT_FILE_CONFIG, 'cat-file', ...mode];
    const proc = spawn('git', args, { env: gitEnv(), stdio: 'pipe' });
    this.proc = proc;
    const err: Buffer[] = [];
    proc.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    proc.stdout.on('data', (data: Buffer) => {
      this.answered = true;
      const chunk = this.body ? this.feedBody(data) : data;
      if (chunk.length === 0) return;
      this.chunks.push(chunk);
      this.chunkBytes += chunk.length;
      if (this.buffer.length + this.chunkBytes < this.need) return;
      this.buffer = Buffer.concat([this.buffer, ...this.chunks]);
      this.chunks = [];
      this.chunkBytes = 0;
      this.need = 0;
      this.drain();
    });
    proc.on('error', (error: NodeJS.ErrnoException) =>
      this.fail(
        new GitError(
          'E_GIT',
          error.code === 'ENOENT'
            ? 'git is not installed or not on PATH; install git'
            : `cannot run git: ${error.message}`,
          { cause: error },
        ),
      ),
    );
    proc.on('close', (code) => {
      const text = Buffer.concat(err).toString('utf8');
      if (this.retryPlain(proc, code, text)) return;
      const why = firstMessage(text) ?? '';
      if (/not a git repository|cannot change to/i.test(why)) {
        this.fail(
          new DiffshipError(
            'E_USAGE',
            `${JSON.stringify(this.repo)} is not a git repository; pass --repo <dir> (${why})`,
          ),
        );
      } else if (this.queue.length > 0 || !this.closed || this.body) {
        // Killed or crashed between requests too: later lookups must fail, not wait forever.
        this.fail(new GitError('E_GIT', `git cat-file ended early (${why || `exit code ${code}`})`));
      }
    });
    // git may exit early (bad repo) and close its stdin: that surfaces through 'close'.
    proc.stdin.on('error', () => undefined);
  }

  /** A git older than 2.36 refused `--batch-command` before answering: ask a plain `--batch` the same. */
  private retryPlain(proc: ChildProcessWithoutNullStreams, code: number | null, stderr: string): boolean {
    if (this.plain || this.answered || this.proc !== proc || code !== 129 || !/batch-command/.test(stderr))
      return false;
    this.plain = true;
    this.proc = null;
    this.start();
    // Every request made so far is unanswered: all of them again, in order, then the end if closed.
    const names = this.queue.map((p) => p.name);
    this.outgoing = [];
    if (names.length > 0) this.proc!.stdin.write(`${names.join('\n')}\n`);
    if (this.closed) this.proc!.stdin.end();
    return true;
  }

  private fail(error: Error): void {
    this.failure ??= error;
    this.body?.reader.fail(error);
    this.body = null;
    this.closed = true;
    for (const p of this.queue.splice(0)) p.reject(error);
  }

  private flush(): void {
    if (this.outgoing.length === 0 || this.closed || !this.proc) return;
    const names = this.outgoing;
    this.proc.stdin.write(
      this.plain ? `${names.join('\n')}\n` : `contents ${names.join('\ncontents ')}\nflush\n`,
    );
    this.outgoing = [];
  }

  private drain(): void {
    for (;;) {
      const head = this.queue[0];
      if (!head) return;
      const nl = this.buffer.indexOf(10);
      if (nl < 0) return void (this.need = this.buffer.length + 1);
      const header = this.buffer.toString('utf8', 0, nl);
      const match = BATCH_HEADER.exec(header);
      if (!match) {
        this.buffer = this.buffer.subarray(nl + 1);
        this.queue.shift();
        head.resolve({ name: head.name, found: false, ambiguous: header.endsWith(' ambiguous') });
        continue;
      }
      const size = Number(match[3]);
      if (head.onBody && match[2] === 'blob' && size > WHOLE_MAX) {
        this.queue.shift();
        this.body = { reader: new BlobBody(match[1]!, size), left: size + 1 };
        head.onBody(this.body.reader);
        this.buffer = this.feedBody(this.buffer.subarray(nl + 1));
        if (this.body) return; // the rest comes in later reads
        continue;
      }
      const end = nl + 1 + size;
      if (this.buffer.length < end + 1) return void (this.need = end + 1); // body and its newline
      const content = Buffer.from(this.buffer.subarray(nl + 1, end));
      this.buffer = this.buffer.subarray(end + 1);
      this.queue.shift();
      head.resolve({ name: head.name, found: true, oid: match[1]!, type: match[2]!, content });
    }
  }

  /** Hand the streamed blob its next bytes; returns what follows its body (git's later answers). */
  private feedBody(data: Buffer): Buffer {
    const body = this.body!;
    const n = Math.min(body.left, data.length);
    const bytes = Math.min(n, body.left - 1); // the last of `left` is the newline after the body
    if (bytes > 0 && !body.reader.push(data.subarray(0, bytes))) this.pauseFor(body.reader);
    body.left -= n;
    if (body.left === 0) this.body = null;
    return data.subarray(n);
  }

  /** The consumer is HIGH_WATER behind: stop reading git's output (git then blocks) until it catches up. */
  private pauseFor(reader: BlobBody): void {
    const out = this.proc?.stdout;
    if (!out || out.isPaused()) return;
    out.pause();
    reader.onDrain = () => {
      reader.onDrain = null;
      out.resume();
    };
  }
}
