/**
 * The local sorted walk (sorted-walk.ts's contract) done by GNU `find` and
 * `sort` in other processes: find lstats every entry in C (fstatat relative to
 * the folder it reads, links never followed), `LC_ALL=C sort` puts the records
 * in byte order of paths, and this process only parses them. An lstat from
 * Node costs a path lookup from the root, a BigInt stat object and three
 * BigInt-to-string conversions; here it costs one record's parse, done only for
 * the entries the caller compares. The processes can start before the walk is
 * asked for (LocalTransport.prewalkSorted: while git diffs), on the other core.
 *
 * Each record is `type size mtime ctime inode perms path`, a folder's path
 * with a slash: sorting whole paths by bytes then gives git's tree order
 * (a folder as its name and a slash, right before its entries). Times come as
 * seconds with a fraction of at least 9 digits (GNU find), so ns are exact.
 *
 * Where find or sort is missing, lacks `-printf` or `-z`, or find meets any
 * error (a folder it cannot read, an entry gone while it walked), the first
 * record says so and nothing was visited: the caller walks in-process instead,
 * which words errors and handles vanished entries itself.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { EntryType, SortedVisit } from '../transport.js';
import type { FileStat } from '../../plan/manifest-types.js';
import { byteOrder } from '../../byte-order.js';
import { lstatExact, walkSorted } from './sorted-walk.js';

// find's status goes last into sort as a record with an empty path, so it comes out first:
// a failed find is known before any entry is visited.
const SCRIPT = `{ find . -mindepth 1 "$@" \\( -type d -printf '%y %s %T@ %C@ %i %m %P/\\0' \\) -o -printf '%y %s %T@ %C@ %i %m %P\\0'; printf 'x 0 0 0 0 %d \\000' "$?"; } | sort -z -t ' ' -k 7`;

/** The file type bits of `st_mode` for find's `%y` letters (other types are never compared). */
const TYPE_BITS: Readonly<Record<string, number>> = { f: 0o100000, l: 0o120000, d: 0o040000 };
const TYPES: Readonly<Record<string, EntryType>> = { f: 'file', l: 'symlink', d: 'dir' };

/** A find walk under way: started by `startFindWalk`, read once by `visitFound`. */
export interface FindWalk {
  readonly skip: readonly string[];
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  /** What find and sort said on stderr (the first KiB), for an error message. */
  stderr(): string;
  /** Set by stopFindWalk: what was read is not the whole tree. */
  stopped: boolean;
}

/** Start find and sort on `base`, leaving out the `skip` folders (relative paths). */
export function startFindWalk(base: string, skip: readonly string[]): FindWalk {
  const prune: string[] = [];
  for (const s of skip) {
    const rel = s.replace(/\/+$/, '');
    // -path takes a pattern: a name's own wildcards are escaped.
    prune.push(...(prune.length > 0 ? ['-o'] : []), '-path', `./${rel.replace(/[*?[\]\\]/g, '\\$&')}`);
  }
  const args = prune.length > 0 ? ['(', ...prune, ')', '-prune', '-o'] : [];
  // Its own process group: stopping it stops find and sort too, not only the shell.
  const child = spawn('sh', ['-c', SCRIPT, 'sh', ...args], {
    cwd: base,
    env: { ...process.env, LC_ALL: 'C' },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const exited = new Promise<number | null>((resolve) => {
    child.once('error', () => resolve(null));
    child.once('close', (code) => resolve(code));
  });
  let err = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (s: string) => {
    if (err.length < 1024) err += s;
  });
  return { skip, child, exited, stderr: () => err, stopped: false };
}

/** `early` when it was started with these `skip` folders (else it is stopped), or a walk started now. */
export function findWalkFor(early: FindWalk | null, base: string, skip: readonly string[]): FindWalk {
  if (early && early.skip.join('\0') === skip.join('\0')) return early;
  if (early) stopFindWalk(early);
  return startFindWalk(base, skip);
}

/**
 * The sorted walk below `base` (sorted-walk.ts's contract) through `found`, and
 * in-process where find cannot walk. `fail(op, rel, error)` words an error.
 */
export async function walkSortedFound(
  base: string,
  skip: readonly string[],
  visit: SortedVisit,
  found: FindWalk,
  fail: (op: string, rel: string, error: unknown) => Error,
): Promise<void> {
  const walked = await visitFound(
    found,
    visit,
    (rel) => lstatExact(base, rel, fail),
    (why) => fail('walk', '', new Error(why)),
  );
  if (!walked) await walkSorted(base, skip, visit, fail);
}

/** Stop a walk nobody reads (its output is dropped): the shell, find and sort. */
export function stopFindWalk(w: FindWalk): void {
  w.stopped = true;
  w.child.stdout!.destroy();
  const pid = w.child.pid;
  if (pid === undefined || w.child.exitCode !== null || w.child.signalCode !== null) return;
  try {
    // SIGTERM, not SIGKILL: GNU sort removes the temporary files it spilled (~50 MB at 500,000
    // entries, in $TMPDIR) on a TERM; killed outright, it would leave them behind.
    process.kill(-pid, 'SIGTERM');
  } catch {
    // Gone already.
  }
}

/**
 * Visit every entry `w` finds, in order. False when find could not walk (nothing
 * was visited: walk in-process instead). `lstat` is the exact lstat of a path
 * whose record has no exact times (find without ns, a time before 1970).
 * `fail` words an error after entries were visited (sort failed, records out of order).
 */
export async function visitFound(
  w: FindWalk,
  visit: SortedVisit,
  lstat: (rel: string) => FileStat | null,
  fail: (why: string) => Error,
): Promise<boolean> {
  // A partial record at a chunk's end, kept for the next chunk.
  let carry: Buffer | null = null;
  let status: string | null = null;
  let prevKey = '';
  // The record being visited, parsed further only if the visitor asks for its stat.
  let current = '';
  let currentPath = '';
  const exact = (rel: string): FileStat | null =>
    rel === currentPath ? (statOf(current) ?? lstat(rel)) : lstat(rel);
  let read = false;
  try {
    for await (const chunk of w.child.stdout! as AsyncIterable<Buffer>) {
      const data: Buffer = carry === null ? chunk : Buffer.concat([carry, chunk]);
      carry = null;
      let at = 0;
      for (let end = data.indexOf(0, at); end >= 0; end = data.indexOf(0, at)) {
        // Each record decoded on its own: a path the caller keeps holds its record, not the
        // whole chunk's text (a slice of it would: 49 MB at 500,000 files).
        const rec = data.toString('utf8', at, end);
        at = end + 1;
        if (status === null) {
          status = rec;
          if (rec !== 'x 0 0 0 0 0 ') return false;
          continue;
        }
        const from = pathStart(rec);
        if (from < 0) throw fail(`a record without its fields: ${JSON.stringify(rec.slice(0, 200))}`);
        const key = rec.slice(from);
        // LC_ALL=C sort orders bytes; a name that is not UTF-8 decodes lossily (and is refused later).
        if (!(prevKey < key) && byteOrder(prevKey, key) >= 0 && !key.includes('\ufffd'))
          throw fail(`entries out of order: ${JSON.stringify(prevKey)} before ${JSON.stringify(key)}`);
        prevKey = key;
        const type = TYPES[rec[0]!] ?? 'other';
        current = rec;
        currentPath = type === 'dir' ? key.slice(0, -1) : key;
        visit(currentPath, type, exact);
      }
      if (at < data.length) carry = Buffer.from(data.subarray(at));
    }
    read = true;
  } catch (error) {
    // Stopped while read (stopFindWalk: the target closed), the stream ends early.
    if (w.stopped) throw fail('stopped (the target was closed)');
    throw error;
  } finally {
    if (!read) stopFindWalk(w);
  }
  const code = await w.exited;
  if (w.stopped) throw fail('stopped (the target was closed)');
  if (status === null) return false; // find or sort could not start
  if (code !== 0 || carry !== null)
    throw fail(`find | sort ended with ${code ?? 'an error'}${w.stderr() ? `: ${w.stderr().trim()}` : ''}`);
  return true;
}

/** Where a record's path starts (after its sixth space); -1 when it has fewer. */
function pathStart(rec: string): number {
  let at = -1;
  for (let n = 0; n < 6; n++) {
    at = rec.indexOf(' ', at + 1);
    if (at < 0) return -1;
  }
  return at + 1;
}

/** A record's exact stat; null where its times are not exact (the caller lstats then). */
export function statOf(rec: string): FileStat | null {
  const s1 = rec.indexOf(' ');
  const s2 = rec.indexOf(' ', s1 + 1);
  const s3 = rec.indexOf(' ', s2 + 1);
  const s4 = rec.indexOf(' ', s3 + 1);
  const s5 = rec.indexOf(' ', s4 + 1);
  const s6 = rec.indexOf(' ', s5 + 1);
  const bits = TYPE_BITS[rec.slice(0, s1)];
  const mtimeNs = nanoseconds(rec, s2 + 1, s3);
  const ctimeNs = nanoseconds(rec, s3 + 1, s4);
  if (bits === undefined || mtimeNs === null || ctimeNs === null) return null;
  return {
    size: Number(rec.slice(s1 + 1, s2)),
    mtimeNs,
    ctimeNs,
    ino: rec.slice(s4 + 1, s5),
    mode: bits | parseInt(rec.slice(s5 + 1, s6), 8),
  };
}

/**
 * `seconds.fraction` (from find's `%T@`) as ns in decimal, as an exact lstat gives
 * them: null unless the seconds start with a digit 1–9 and the fraction has at
 * least 9 digits. Digits are not checked one by one: a stat that is not exact
 * only fails to match the manifest's (a hash, never a false match).
 */
function nanoseconds(rec: string, from: number, to: number): string | null {
  const dot = rec.indexOf('.', from);
  if (dot < 0 || dot >= to || to - dot - 1 < 9 || dot === from) return null;
  // find prints digits; a time before 1970 or at 0 seconds is left to an lstat.
  const first = rec.charCodeAt(from);
  if (first < 0x31 || first > 0x39) return null;
  return rec.slice(from, dot) + rec.slice(dot + 1, dot + 10);
}
