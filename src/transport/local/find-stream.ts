/**
 * The local walk in find's own order (LocalTransport.walkUnordered): GNU `find`
 * alone, no sort, its records read as find writes them. A caller that needs no
 * order (authoritative mode's merge through an index of the manifest:
 * observe/manifest-walk-merge.ts) then compares on this core while find walks on
 * the other. Sorted (find-walk.ts), sort emits nothing before find is done, so
 * walk and compare took turns.
 *
 * find writes into an unlinked temporary file, not a pipe: a pipe holds ~200 KB,
 * and find stopped whenever this process was busy elsewhere (building the
 * manifest's index, reading git's listing): a 50,000-entry walk took 240 ms
 * instead of 140. The file is read at increasing offsets as it grows; it has no
 * name from the moment it is made (unlinked-temp.ts).
 *
 * find's exit status comes after its records, so where it fails (missing, no
 * `-printf`, a folder it cannot read, an entry gone while it walked) entries
 * were visited already: the walk answers false and the caller walks again in
 * order (walkSorted), in-process where find fails again. A record is settled from
 * its bytes where the caller can (`settle`), else decoded and visited.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, readSync } from 'node:fs';
import { unlinkedTempFile } from '../../unlinked-temp.js';
import { readSyncUpTo } from './small-file-io.js';
import type { FileStat } from '../../plan/manifest-types.js';
import type { SettleRaw, SortedVisit, WalkEcho } from '../transport.js';
import { RecordVisitor, printed, pruneArgs } from './find-records.js';

/** Bytes read at a time; a record (a path of up to 4 KiB) always fits. */
const READ = 256 * 1024;
/** How long to wait for find to write more, when all it wrote is read. */
const POLL_MS = 2;

/** A find under way, read once by `visitStream`. */
export interface FindStream {
  readonly skip: readonly string[];
  readonly child: ChildProcess;
  /** find's exit code; null when it could not start or was stopped. */
  readonly exited: Promise<number | null>;
  /** The file find writes into (unlinked); -1 once closed. */
  fd: number;
  done: boolean;
  stopped: boolean;
}

/**
 * Start find on `base`, leaving out the `skip` folders (relative paths).
 * @throws where the temporary file cannot be made (the caller walks sorted then)
 */
export function startFindStream(base: string, skip: readonly string[]): FindStream {
  const fd = unlinkedTempFile('diffship-walk');
  let child: ChildProcess;
  try {
    // Its own process group, as find-walk.ts's pipelines: stopping it leaves nothing behind.
    child = spawn('find', ['.', '-mindepth', '1', ...pruneArgs(skip), ...printed('%P')], {
      cwd: base,
      env: { ...process.env, LC_ALL: 'C' },
      stdio: ['ignore', fd, 'ignore'],
      detached: true,
    });
  } catch (error) {
    closeSync(fd);
    throw error;
  }
  let s: FindStream | null = null;
  const exited = new Promise<number | null>((resolve) => {
    child.once('error', () => resolve(null));
    child.once('close', (code) => resolve(code));
  }).then((code) => {
    s!.done = true;
    return code;
  });
  s = { skip, child, exited, fd, done: false, stopped: false };
  return s;
}

/** Stop a walk (what it wrote is dropped): find and its process group, and its file. */
export function stopFindStream(s: FindStream): void {
  s.stopped = true;
  closeStream(s);
  const pid = s.child.pid;
  if (pid === undefined || s.child.exitCode !== null || s.child.signalCode !== null) return;
  try {
    process.kill(-pid, 'SIGTERM');
  } catch {
    // Gone already.
  }
}

function closeStream(s: FindStream): void {
  if (s.fd < 0) return;
  closeSync(s.fd);
  s.fd = -1;
}

/**
 * Visit every entry `s` finds, in find's order, but those `settle` accounts for from
 * their bytes. False when find did not walk the whole tree (what was visited is void).
 * `lstat` is the exact lstat of a path whose record has no exact times; `fail` words an
 * error (a malformed record, a walk stopped by the target's close). `echo`: first
 * compared with the walk expected (observe/walk-echo.ts), byte for byte as find writes:
 * the same and whole, nothing is visited (`echo.same`); else visited from its start. Its
 * bytes are kept in `echo.records` where asked.
 */
export async function visitStream(
  s: FindStream,
  visit: SortedVisit,
  lstat: (rel: string) => FileStat | null,
  fail: (why: string) => Error,
  settle?: SettleRaw,
  echo?: WalkEcho,
): Promise<boolean> {
  const records = new RecordVisitor(visit, lstat, fail, settle);
  const buf = Buffer.allocUnsafe(READ);
  let offset = 0; // in the file
  let kept = 0; // bytes of a partial record at the start of buf
  let read = false;
  try {
    if (echo?.expected && (await sameAs(s, echo.expected, buf, fail))) {
      echo.same = true;
      echo.records = echo.expected;
      read = true;
      return true;
    }
    echo?.beforeVisit?.();
    for (;;) {
      if (s.stopped) throw fail('stopped (the target was closed)');
      // Whether find was done before this read: then a short read is the end.
      const last = s.done;
      const n = readSync(s.fd, buf, kept, READ - kept, offset);
      offset += n;
      if (n === 0) {
        if (last) break;
        await more(s);
        continue;
      }
      const end = kept + n;
      let at = 0;
      for (let nul = buf.indexOf(0, at); nul >= 0 && nul < end; nul = buf.indexOf(0, at)) {
        records.entry(buf, at, nul);
        at = nul + 1;
      }
      kept = end - at;
      if (kept === READ) throw fail(`a record longer than ${READ} bytes`);
      buf.copyWithin(0, at, end);
    }
    const code = await s.exited;
    if (s.stopped) throw fail('stopped (the target was closed)');
    read = true;
    const whole = code === 0 && kept === 0;
    // Kept: read again from find's file in one go (one buffer, no copy per read).
    if (whole && echo?.keepUpTo !== undefined && offset <= echo.keepUpTo) {
      const records = readSyncUpTo(s.fd, offset);
      if (records.length === offset) echo.records = records;
    }
    return whole;
  } catch (error) {
    if (s.stopped) throw fail('stopped (the target was closed)');
    throw error;
  } finally {
    if (read) closeStream(s);
    else stopFindStream(s);
  }
}

/**
 * Whether the walk is `expected` exactly, compared as find writes it (one memcmp a read):
 * false at the first byte that differs, or when find failed. Nothing is visited.
 */
async function sameAs(
  s: FindStream,
  expected: Buffer,
  buf: Buffer,
  fail: (why: string) => Error,
): Promise<boolean> {
  for (let offset = 0; ;) {
    if (s.stopped) throw fail('stopped (the target was closed)');
    const last = s.done;
    const n = readSync(s.fd, buf, 0, READ, offset);
    if (n === 0) {
      if (!last) {
        await more(s);
        continue;
      }
      return offset === expected.length && (await s.exited) === 0;
    }
    if (offset + n > expected.length || buf.compare(expected, offset, offset + n, 0, n) !== 0) return false;
    offset += n;
  }
}

/** Until find writes more (a poll) or ends. */
const more = (s: FindStream) =>
  Promise.race([s.exited, new Promise((resolve) => setTimeout(resolve, POLL_MS))]);
