import type { Entry } from '../transport.js';
import { checkRelPath } from '../rel-path.js';
import { OP_PEEK } from './perl-helper-protocol.js';
import type { SshOps } from './perl-helper-client.js';
import { parsePeekPayload } from './helper-peek.js';

/** Paths per record, as for a peek (helper-peek.ts): bounds the answer line. */
const BATCH = 1000;

interface Waiting {
  rel: string;
  resolve(entry: Entry | null): void;
  reject(error: unknown): void;
}

/**
 * lstat calls made in one turn of the event loop, asked of the file helper in
 * one record (its peek op, without reads): a deploy lstats every changed path
 * while it plans, again while it backs up, and its parents, and over SFTP each
 * is a request and a reply of its own to frame, encrypt and wait for. Whatever
 * the helper does not answer (no helper here, it ended, a path it could not
 * lstat, the root) goes over SFTP, as before, so the errors and the answers
 * stay SFTP's. Nothing is cached: each call gets what the host had when its
 * batch was read.
 */
export class LstatBatch {
  private queue: Waiting[] = [];

  constructor(
    private readonly ops: SshOps,
    /** The plain SFTP lstat, for what the helper does not answer. */
    private readonly sftpLstat: (rel: string) => Promise<Entry | null>,
  ) {}

  lstat(rel: string): Promise<Entry | null> {
    if (!batchable(rel)) return this.sftpLstat(rel);
    return new Promise((resolve, reject) => {
      if (this.queue.length === 0) setImmediate(() => this.flush());
      this.queue.push({ rel, resolve, reject });
    });
  }

  private flush(): void {
    const queue = this.queue;
    this.queue = [];
    for (let i = 0; i < queue.length; i += BATCH) void this.ask(queue.slice(i, i + BATCH));
  }

  private async ask(batch: Waiting[]): Promise<void> {
    const answered = await this.viaHelper(batch.map((w) => w.rel)).catch(() => null);
    for (const w of batch) {
      const seen = answered?.get(w.rel);
      if (seen !== undefined) w.resolve(seen);
      else this.sftpLstat(w.rel).then(w.resolve, w.reject);
    }
  }

  /** The helper's lstat of each path (null: absent); a path it could not lstat is left out. */
  private async viaHelper(paths: string[]): Promise<Map<string, Entry | null> | null> {
    const helper = await this.ops.channel();
    if (!helper) return null;
    // Duplicates are asked once (the answer has a record per path asked).
    const unique = [...new Set(paths)];
    const payload = await this.ops.run(helper, OP_PEEK, unique.join('\0'), { to: '' });
    const parsed = parsePeekPayload(payload, unique);
    if (!parsed) return null;
    return new Map([...parsed].map(([p, peeked]) => [p, peeked.entry]));
  }
}

/** A path the helper may be asked about: never the root, never one checkRelPath refuses or changes. */
function batchable(rel: string): boolean {
  try {
    return rel !== '' && checkRelPath(rel) === rel;
  } catch {
    return false;
  }
}
