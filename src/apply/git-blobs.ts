/**
 * Reads blob contents from git through one long-lived `git cat-file --batch`
 * process: one process for a whole deploy instead of one per file, which is
 * what makes a 50,000-file first deploy fast.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { GitError } from '../errors.js';

interface Pending {
  sha: string;
  resolve(data: Buffer): void;
  reject(error: Error): void;
}

export class GitBlobReader {
  private readonly proc: ChildProcessWithoutNullStreams;
  private readonly queue: Pending[] = [];
  private buffer: Buffer = Buffer.alloc(0);
  /** Chunks received while waiting for a large body; joined once it is complete (no quadratic copying). */
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private need = 0;
  private closed = false;
  private outgoing: string[] = [];

  constructor(repo: string) {
    this.proc = spawn('git', ['cat-file', '--batch'], { cwd: repo, stdio: ['pipe', 'pipe', 'pipe'] });
    this.proc.stdout.on('data', (chunk: Buffer) => {
      this.pending.push(chunk);
      this.pendingBytes += chunk.length;
      if (this.buffer.length + this.pendingBytes < this.need) return;
      this.buffer = Buffer.concat([this.buffer, ...this.pending]);
      this.pending = [];
      this.pendingBytes = 0;
      this.need = 0;
      this.drain();
    });
    const fail = (error: Error) => {
      this.closed = true;
      for (const p of this.queue.splice(0)) p.reject(error);
    };
    this.proc.on('error', (e) =>
      fail(new GitError('E_GIT', `cannot run git cat-file: ${e.message}`, { cause: e })),
    );
    this.proc.on('close', () => fail(new GitError('E_GIT', 'git cat-file ended early')));
    this.proc.stdin.on('error', () => undefined);
  }

  /** The bytes of a blob. */
  read(sha: string): Promise<Buffer> {
    if (!/^[0-9a-f]{40,64}$/.test(sha)) return Promise.reject(new GitError('E_GIT', `not a blob id: ${sha}`));
    if (this.closed) return Promise.reject(new GitError('E_GIT', 'git cat-file is closed'));
    return new Promise((resolve, reject) => {
      this.queue.push({ sha, resolve, reject });
      // Requests made in the same tick go to git in one write, not one pipe write each.
      if (this.outgoing.length === 0) queueMicrotask(() => this.flush());
      this.outgoing.push(sha);
    });
  }

  private flush(): void {
    if (this.outgoing.length === 0 || this.closed) return;
    this.proc.stdin.write(`${this.outgoing.join('\n')}\n`);
    this.outgoing = [];
  }

  private drain(): void {
    for (;;) {
      const head = this.queue[0];
      if (!head) return;
      const nl = this.buffer.indexOf(10);
      if (nl < 0) return void (this.need = this.buffer.length + 1);
      const header = this.buffer.subarray(0, nl).toString('latin1');
      if (header.endsWith(' missing')) {
        this.queue.shift();
        this.buffer = this.buffer.subarray(nl + 1);
        head.reject(new GitError('E_GIT', `blob ${head.sha} is missing from the repository`));
        continue;
      }
      const size = Number(header.split(' ')[2]);
      if (this.buffer.length < nl + 1 + size + 1) return void (this.need = nl + 1 + size + 1); // wait for body + newline
      const body = Buffer.from(this.buffer.subarray(nl + 1, nl + 1 + size));
      this.buffer = this.buffer.subarray(nl + 1 + size + 1);
      this.queue.shift();
      head.resolve(body);
    }
  }

  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    this.proc.stdin.end();
  }
}
