import type { Peeked } from '../transport.js';
import { checkRelPath } from '../rel-path.js';
import { CHDIR_SOFT, OP_CHDIR, OP_PEEK } from './perl-helper-protocol.js';
import type { OpsChannel, SshOps } from './perl-helper-client.js';
import { readOn } from './helper-read.js';
import { toEntry } from './sftp.js';

/** The most bytes of a file a peek reads (the helper's own peek reads files up to 1 MiB). */
const PEEK_READ_MAX = 1024 * 1024;

/** Paths per peek record: bounds the answer line (a record per path; files up to 1 MiB each are asked for by name). */
const MAX_PATHS = 1000;

/**
 * The answers of peeks, for the reads that follow them: a deploy reads its
 * state folder path by path (lstat, then open, fstat, read, close), each
 * call a round trip; one peek asks the host for all of it at once. Only a
 * hint: where the helper cannot run or a path is not answered, the caller's
 * own call goes to the host as before. Every change this transport makes
 * forgets what it touches (and its folders) first, and an answer that comes
 * back after a change is dropped whole, so nothing stale is ever served.
 * The bytes are what the host holds, hostile as ever: callers check them as
 * they check SFTP's.
 */
export class ReadAhead {
  private known = new Map<string, Peeked>();
  /** Bumped by every change: a peek sent before one is not kept. */
  private generation = 0;

  constructor(private readonly ops: SshOps) {}

  /**
   * lstat `paths` (and read or list those in `reads`) in one round trip; null when not answered.
   * What it saw is kept for the reads that follow unless a change ran meanwhile (it is returned
   * all the same: it is what the host had when the record was read).
   */
  async peek(
    paths: readonly string[],
    reads: readonly string[],
    files: readonly string[] = [],
  ): Promise<Map<string, Peeked> | null> {
    const helper = await this.ops.channel().catch(() => null);
    if (!helper) return null;
    const generation = this.generation;
    // `files` (known to be files, among `reads`) as raw reads right behind the peek's record: the
    // same round trip, without the peek's hex (twice the bytes to make, send and decode). Only a
    // hint: one that fails is read again when asked for.
    const raw = new Set(files.filter((f) => plainPath(f) && reads.includes(f) && paths.includes(f)));
    const parsedSoon = this.ask(
      helper,
      paths,
      reads.filter((r) => !raw.has(r)),
    );
    const bytes = [...raw].map((f) => readOn(this.ops, helper, f, PEEK_READ_MAX).catch(() => undefined));
    const parsed = await parsedSoon;
    const read = await Promise.all(bytes);
    if (parsed)
      [...raw].forEach((f, i) => {
        const seen = parsed.get(f);
        if (seen?.entry?.type === 'file' && read[i] !== undefined) seen.data = read[i];
      });
    if (parsed && generation === this.generation) this.keep(parsed);
    return parsed;
  }

  /**
   * `first(helper)`, a change that queues its one helper record before it returns, then a peek
   * whose record goes right behind it: the helper does records in order, so the peek sees what
   * the change did, in the same round trip (a lock taken, and the state folder read next).
   * null where the helper does not run (nothing was done).
   */
  async behind<T>(
    changed: readonly string[],
    first: (helper: OpsChannel) => Promise<T>,
    paths: readonly string[],
    reads: readonly string[],
  ): Promise<{ result: T; seen: Map<string, Peeked> | null } | null> {
    const helper = await this.ops.channel().catch(() => null);
    if (!helper) return null;
    this.forget(changed);
    const generation = this.generation;
    const result = first(helper);
    const seen = this.ask(helper, paths, reads);
    const both = { result: await result, seen: await seen };
    if (both.seen && generation === this.generation) this.keep(both.seen);
    return both;
  }

  /**
   * The connection's first look, queued right behind the root's record (helper-root.ts), before
   * the host has said the target folder is there: the helper moves into `base` softly (a missing
   * folder is an error answer, and the peek chained to it is not run), then peeks, in the root's
   * round trip instead of one of its own after it. The configured path, not the real one the root
   * answers: chdir follows links as the root's check does. Read-only; a connection that fails
   * after it forgets what it saw (`clear`), and the caller uses it only once connected.
   */
  async atConnect(
    helper: OpsChannel,
    base: string,
    paths: readonly string[],
    reads: readonly string[],
  ): Promise<Map<string, Peeked> | null> {
    const generation = this.generation;
    this.ops.run(helper, OP_CHDIR, base, { mode: CHDIR_SOFT }).catch(() => undefined);
    const seen = await this.ask(helper, paths, reads, true);
    if (seen && generation === this.generation) this.keep(seen);
    return seen;
  }

  /** One peek record (`chained`: run only if the record before it succeeded); null when not answered. */
  private async ask(
    helper: OpsChannel,
    paths: readonly string[],
    reads: readonly string[],
    chained = false,
  ): Promise<Map<string, Peeked> | null> {
    const asked = paths.filter((p) => p === '' || plainPath(p)).slice(0, MAX_PATHS);
    if (asked.length === 0) return null;
    const wanted = new Set(reads);
    // The root ('') is `.` on the wire: the helper's own folder.
    const wire = (ps: string[]) => ps.map((p) => p || '.').join('\0');
    const to = wire(asked.filter((p) => wanted.has(p)));
    const payload = await this.ops.run(helper, OP_PEEK, wire(asked), { to, chained }).catch(() => null);
    return payload === null ? null : parsePeekPayload(payload, asked);
  }

  private keep(parsed: Map<string, Peeked>): void {
    for (const [path, peeked] of parsed) this.known.set(path, peeked);
  }

  /** What a peek saw at `rel`, if it still stands. */
  get(rel: string): Peeked | undefined {
    return this.known.get(rel);
  }

  /**
   * Run a change of `paths` ('' for anything): they are forgotten before it starts, and
   * again once it is done, so that a peek answered while it was under way is not kept.
   */
  async changing<T>(paths: readonly string[], change: () => Promise<T>): Promise<T> {
    this.forget(paths);
    try {
      return await change();
    } finally {
      this.forget(paths);
    }
  }

  /**
   * `paths` are about to change: forget them, everything below them and their folders (their
   * listings and times change). One pass over what is known, whatever the number of paths: a
   * batch of 20,000 staged files forgot path by path, copying the known keys each time.
   */
  forget(paths: readonly string[]): void {
    this.generation++;
    if (this.known.size === 0 || paths.length === 0) return;
    if (paths.includes('')) return this.clear();
    const changed = new Set(paths);
    const folders = new Set<string>();
    for (const p of paths)
      for (const f of foldersOf(p)) {
        if (folders.has(f)) break; // and the folders above it
        folders.add(f);
      }
    // Deleting the entry being visited is safe in a Map's iteration.
    for (const key of this.known.keys())
      if (changed.has(key) || folders.has(key) || foldersOf(key).some((f) => changed.has(f)))
        this.known.delete(key);
  }

  /** Anything may have changed (a command ran, the connection was made again). */
  clear(): void {
    this.generation++;
    this.known.clear();
  }
}

/** A path the helper may be asked about as it is (not the root, which `ask` sends as `.`; never one checkRelPath refuses). */
function plainPath(p: string): boolean {
  try {
    return p !== '' && checkRelPath(p) === p;
  } catch {
    return false;
  }
}

const RECORD =
  /^(\d+),(\d+),(-?\d+),(\d+),(\d+)(?:,(f)((?:[0-9a-f]{2})*)|,(d)((?:[0-9a-f]{2})+(?:\.(?:[0-9a-f]{2})+)*)?)?$/;

/**
 * The peek answer's payload (perl-helper-protocol.ts, op 10): a result per asked
 * path; paths answered `!` are left out (their own calls report why). null
 * when the payload is not one (nothing is then served from it).
 */
export function parsePeekPayload(payload: string, paths: readonly string[]): Map<string, Peeked> | null {
  const records = payload.split(' ');
  if (records.length !== paths.length) return null;
  const out = new Map<string, Peeked>();
  for (let i = 0; i < records.length; i++) {
    const record = records[i]!;
    if (record === '!') continue;
    if (record === '-') {
      out.set(paths[i]!, { entry: null });
      continue;
    }
    const m = RECORD.exec(record);
    if (!m) return null;
    const entry = toEntry({
      mode: Number(m[1]),
      size: Number(m[2]),
      mtime: Number(m[3]),
      uid: Number(m[4]),
      gid: Number(m[5]),
    });
    const peeked: Peeked = { entry };
    // Bytes only for what lstat called a file, names only for a folder: anything else is not served.
    if (m[6] === 'f' && entry.type === 'file') peeked.data = Buffer.from(m[7]!, 'hex');
    else if (m[8] === 'd' && entry.type === 'dir')
      peeked.names = m[9] ? m[9].split('.').map((h) => Buffer.from(h, 'hex').toString('utf8')) : [];
    out.set(paths[i]!, peeked);
  }
  return out;
}

/** The folders above `rel`, nearest first (`a/b/c`: `a/b`, `a`). */
function foldersOf(rel: string): string[] {
  const out: string[] = [];
  for (let i = rel.lastIndexOf('/'); i > 0; i = rel.lastIndexOf('/', i - 1)) out.push(rel.slice(0, i));
  out.push(''); // the root, last: its listing and times change too
  return out;
}
