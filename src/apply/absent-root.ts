/**
 * `plan` (and `deploy --dry-run`) on a target whose folder does not exist yet:
 * the first deploy creates it, so the plan is "everything added". A read-only
 * session must not create the folder to find that out, so it reads through
 * this stand-in: a target that holds nothing and refuses every write.
 */
import { TransportError } from '../errors.js';
import type { Entry, ExecResult, Transport, WalkEntry } from '../transport/transport.js';

/**
 * Whether a `connect({ create: false })` failure means only "the target folder
 * is missing": both transports mark exactly that case with `rootMissing` (an
 * unreadable root or one that is not a folder is not it). A missing folder is
 * no reason to fail a plan, anything else is.
 */
export function isMissingRoot(error: unknown): boolean {
  return error instanceof TransportError && error.code === 'E_CONNECT' && error.rootMissing;
}

/**
 * Connect for reading: the transport itself when its folder exists, else an
 * empty stand-in (the folder is not created). Other connect errors are thrown.
 */
export async function connectReadOnly(t: Transport): Promise<{ transport: Transport; missing: boolean }> {
  try {
    await t.connect({ create: false });
    return { transport: t, missing: false };
  } catch (error) {
    if (!isMissingRoot(error)) throw error;
    return { transport: new AbsentRoot(t), missing: true };
  }
}

/** A target folder that does not exist: every read finds nothing, every write is refused. */
class AbsentRoot implements Transport {
  readonly kind: Transport['kind'];
  readonly description: string;

  constructor(private readonly inner: Transport) {
    this.kind = inner.kind;
    this.description = inner.description;
  }

  private refuse(what: string, rel: string): never {
    throw new TransportError(
      'E_TRANSPORT',
      `${this.description}: cannot ${what} ${rel || '.'}: the target folder does not exist (read-only)`,
    );
  }

  async connect(): Promise<void> {}
  async close(): Promise<void> {
    await this.inner.close();
  }
  async lstat(): Promise<Entry | null> {
    return null;
  }
  async readFile(rel: string): Promise<Buffer> {
    return this.refuse('read', rel);
  }
  async readlink(rel: string): Promise<string> {
    return this.refuse('read', rel);
  }
  async writeFile(rel: string): Promise<void> {
    this.refuse('write', rel);
  }
  async writeStream(rel: string): Promise<void> {
    this.refuse('write', rel);
  }
  async syncWritten(): Promise<void> {}
  async createExclusive(rel: string): Promise<boolean> {
    return this.refuse('write', rel);
  }
  async symlink(_linkTarget: string, rel: string): Promise<void> {
    this.refuse('write', rel);
  }
  async chmod(rel: string): Promise<void> {
    this.refuse('write', rel);
  }
  async rename(from: string): Promise<void> {
    this.refuse('rename', from);
  }
  async link(from: string): Promise<boolean> {
    return this.refuse('link', from);
  }
  async mkdirp(rel: string): Promise<void> {
    this.refuse('create', rel);
  }
  async unlink(rel: string): Promise<void> {
    this.refuse('delete', rel);
  }
  async rmdir(rel: string): Promise<boolean> {
    return this.refuse('delete', rel);
  }
  async removeTree(rel: string): Promise<void> {
    this.refuse('delete', rel);
  }
  async readdir(): Promise<string[] | null> {
    return null;
  }
  async walk(): Promise<WalkEntry[]> {
    return [];
  }
  async hashFiles(rels: readonly string[]): Promise<Map<string, string | null>> {
    return new Map(rels.map((r) => [r, null]));
  }
  async exec(command: string): Promise<ExecResult> {
    return this.refuse('run', command);
  }
}
