/**
 * The release check's listing (release-summary.ts): `git ls-tree -r -z` into an
 * unlinked temporary file (unlinked-temp.ts), not a pipe, read at increasing
 * offsets as it grows (as the local walk's find: transport/local/find-stream.ts).
 * A pipe holds 64 KiB, and git stopped whenever this thread was busy elsewhere (an
 * authoritative plan's merge with the walk, the manifest's index): a
 * 50,000-file listing that takes git ~25 ms alone took ~170 ms, and was what
 * the deploy waited for last before its lock.
 *
 * It starts as soon as the release's commit id is known (`early`), without
 * waiting for its tree to be looked up; the caller checks that the commit it
 * resolved is that one (`listed`). Where no temporary file can be made, git's
 * pipe is read as before (git.ts startTreeListing).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, readSync } from 'node:fs';
import { unlinkedTempFile } from '../unlinked-temp.js';
import { gitEnv, gitFailure, startTreeListing, treeListingArgs, type PendingDiffTree } from './git.js';

/** Bytes read at a time. */
const READ = 256 * 1024;
/** How long to wait for git to write more, when all it wrote is read. */
const POLL_MS = 2;

/** A started listing, and the tree-ish it lists. */
export interface SpooledListing extends PendingDiffTree {
  /** What ls-tree was given: the release's commit id (an early start), or the tree id given to `run`. */
  listed(): string | null;
}

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

interface Spool {
  child: ChildProcess;
  fd: number;
  exited: Promise<Exit>;
  done: boolean;
}

/** The listing of `early` (a full commit or tree id) started now; or, without it, at `run`. */
export function startSpooledListing(repo: string, prefix: string, early?: string): SpooledListing {
  let listed: string | null = null;
  let spool: Spool | null = null;
  let piped: PendingDiffTree | null = null;
  const start = (treeish: string) => {
    listed = treeish;
    spool = spoolGit(repo, treeListingArgs(treeish, prefix));
  };
  if (early !== undefined) start(early);
  return {
    listed: () => listed,
    async run(from, to, records, keepStdout = true, commits) {
      if (listed === null) start(to);
      const s = spool;
      if (s === null) {
        // No temporary file here: git's pipe, as before.
        piped = startTreeListing(repo, prefix);
        return piped.run(from, to, records, keepStdout, commits);
      }
      const kept: Buffer[] = [];
      try {
        await readSpool(s, (chunk) => {
          records?.(chunk);
          if (keepStdout || !records) kept.push(chunk);
        });
      } catch (error) {
        stop(s);
        throw error;
      }
      const { code, signal, stderr } = await s.exited;
      if (code !== 0) throw gitFailure(repo, treeListingArgs(listed!, prefix), stderr, code, signal);
      return { stderr, stdout: Buffer.concat(kept) };
    },
    cancel() {
      if (spool) stop(spool);
      piped?.cancel();
    },
  };
}

/** git with its stdout into an unlinked temporary file; null where none can be made. */
function spoolGit(repo: string, args: readonly string[]): Spool | null {
  let fd: number;
  try {
    fd = unlinkedTempFile('diffship-list');
  } catch {
    return null;
  }
  const child = spawn('git', ['-C', repo, ...args], { env: gitEnv(), stdio: ['ignore', fd, 'pipe'] });
  const err: Buffer[] = [];
  child.stderr!.on('data', (chunk: Buffer) => err.push(chunk));
  const s: Spool = { child, fd, exited: null!, done: false };
  s.exited = new Promise<Exit>((resolve) => {
    const stderr = () => Buffer.concat(err).toString('utf8');
    child.once('error', (error) => resolve({ code: null, signal: null, stderr: error.message }));
    child.once('close', (code, signal) => resolve({ code, signal, stderr: stderr() }));
  }).then((r) => {
    s.done = true;
    return r;
  });
  return s;
}

/** Every byte git writes, in order, as it writes them; then the file is closed. */
async function readSpool(s: Spool, onChunk: (chunk: Buffer) => void): Promise<void> {
  let buf = Buffer.allocUnsafe(READ);
  let offset = 0;
  for (;;) {
    // Whether git was done before this read: then a short read is the end.
    const last = s.done;
    const n = readSync(s.fd, buf, 0, READ, offset);
    offset += n;
    if (n > 0) {
      // A buffer of its own, as a pipe's chunk: a reader may keep it.
      onChunk(buf.subarray(0, n));
      buf = Buffer.allocUnsafe(READ);
    } else if (last) break;
    else await Promise.race([s.exited, new Promise((resolve) => setTimeout(resolve, POLL_MS))]);
  }
  closeFd(s);
}

function stop(s: Spool): void {
  closeFd(s);
  if (s.child.exitCode === null && s.child.signalCode === null) s.child.kill('SIGTERM');
}

function closeFd(s: Spool): void {
  if (s.fd < 0) return;
  closeSync(s.fd);
  s.fd = -1;
}
