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
 * A big tree (the recorded manifest says how big) is split: sort emits nothing
 * before find has walked all its input, so one pipeline makes walk, sort and
 * compare serial. The first folder with more than one folder in it (the split
 * folder) has its entries cut into contiguous ranges of git's order, one
 * `find <entries> | sort` each, two running at a time; another pipeline walks
 * everything else. Each range's paths sort after the split folder's own entry
 * and before the next range's, so their outputs are read one after another,
 * in order: the caller compares the first range while later ones are walked.
 *
 * Where find or sort is missing, lacks `-printf` or `-z`, or find meets any
 * error (a folder it cannot read, an entry gone while it walked), a pipeline's
 * first record says so and nothing of it was visited: the caller walks that
 * part in-process instead (the whole tree, or the range), which words errors
 * and handles vanished entries itself.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { SettleRaw, SortedVisit } from '../transport.js';
import type { FileStat } from '../../plan/manifest-types.js';
import { joinRel } from '../rel-path.js';
import { listSorted, lstatExact, walkSorted, type KeyRange } from './sorted-walk.js';
import { compareBytes } from '../../same-bytes.js';
import { pathAt, patternOf, printed, pruneArgs } from './find-records.js';
import { InOrder, Records } from './sorted-records.js';

// find's status goes last into sort as a record with an empty path, so it comes out first:
// a failed find is known before any of its entries is visited. The expression comes as arguments.
const SCRIPT = `{ find "$@"; printf 'x 0 0 0 0 %d \\000' "$?"; } | sort -z -t ' ' -k 7`;
/** The first record of a pipeline whose find walked without an error. */
const WALKED = 'x 0 0 0 0 0 ';

/**
 * Expected entries from which a walk is split, and about how many go to one range. Small
 * ranges: the compare starts once the first range is walked and sorted, and the main thread's
 * compare is the longest part of a big walk (500,000 entries: 8 ranges against 2, ~1.99 →
 * ~1.85 s a deploy).
 */
const SPLIT_AT = 100_000;
const PER_PART = 62_500;
const MAX_PARTS = 8;
/** Ranges walked at once: one per core of a small machine, the caller's compare on top. */
const AT_ONCE = 2;
/** The split folder's entries go to find as arguments: at most this many bytes of them. */
const MAX_ARG_BYTES = 256 * 1024;

/** One `find | sort` in its own process group. */
interface Pipeline {
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  /** What find and sort said on stderr (the first KiB), for an error message. */
  stderr(): string;
  /** Called once, when the output starts (sort has all of find's records, or failed). */
  onOutput: (() => void) | null;
  /** Stop holding the output: its reader holds it now. */
  release(): void;
}

/** A range of the split folder's entries, walked by its own pipeline once started. */
interface Part {
  /** find's start points (`./` and the path): the range's entries as listed when the walk began. */
  readonly starts: readonly string[];
  /** The range, for an in-process walk of it. */
  readonly range: KeyRange;
  pipeline: Pipeline | null;
}

/** A find walk under way: started by `startFindWalk`, read once by `visitFound`. */
export interface FindWalk {
  readonly base: string;
  readonly skip: readonly string[];
  /**
   * Every entry but the split folder's contents (all of them when not split); null
   * when the split folder is the root.
   */
  readonly rest: Pipeline | null;
  readonly split: { readonly dir: string; readonly parts: readonly Part[] } | null;
  /** Parts started so far (in order). */
  started: number;
  /** Set by stopFindWalk: what was read is not the whole tree. */
  stopped: boolean;
}

/**
 * Start find and sort on `base`, leaving out the `skip` folders (relative paths);
 * `expected`: about how many entries the tree holds (0: unknown; a big tree is split).
 */
export function startFindWalk(base: string, skip: readonly string[], expected = 0): FindWalk {
  const prune = pruneArgs(skip);
  const split = expected >= SPLIT_AT ? splitOf(base, skip, Math.round(expected / PER_PART)) : null;
  // The split folder's own entry comes from here, its contents from the parts.
  const keepOut = split ? ['-path', `./${patternOf(split.dir)}`, '-prune', ...printed('%P'), '-o'] : [];
  const rest =
    split?.dir === ''
      ? null
      : spawnPipeline(base, ['.', '-mindepth', '1', ...prune, ...keepOut, ...printed('%P')]);
  const w: FindWalk = { base, skip, rest, split, started: 0, stopped: false };
  for (let i = 0; i < AT_ONCE; i++) startNextPart(w);
  return w;
}

/**
 * Where and how to split: the first folder (from the root down) holding more than
 * one folder, its entries in `parts` ranges of about the same count. Null where
 * the tree has no such folder, or it has too many entries for find's arguments.
 */
function splitOf(base: string, skip: readonly string[], parts: number): FindWalk['split'] {
  const skipped = new Set(skip.map((s) => s.replace(/\/+$/, '')));
  const never = () => new Error('unlisted');
  let dir = '';
  for (let depth = 0; depth < 32; depth++) {
    let listed;
    try {
      listed = listSorted(base, dir, never);
    } catch {
      return null; // the pipelines word it
    }
    if (listed === null) return null;
    const entries = listed.filter((e) => !skipped.has(joinRel(dir, e.name)));
    const dirs = entries.filter((e) => e.type === 'dir');
    if (dirs.length === 1) {
      // The files beside it go to the rest.
      dir = joinRel(dir, dirs[0]!.name);
      continue;
    }
    if (dirs.length === 0) return null;
    let bytes = 0;
    for (const e of entries) bytes += dir.length + e.name.length + 4;
    if (bytes > MAX_ARG_BYTES) return null;
    const n = Math.max(2, Math.min(parts, MAX_PARTS, entries.length));
    const cut = (i: number) => Math.floor((i * entries.length) / n);
    const out: Part[] = [];
    for (let i = 0; i < n; i++) {
      const slice = entries.slice(cut(i), cut(i + 1));
      out.push({
        starts: slice.map((e) => `./${joinRel(dir, e.name)}`),
        range: {
          dir,
          from: i === 0 ? null : slice[0]!.key,
          to: i === n - 1 ? null : entries[cut(i + 1)]!.key,
        },
        pipeline: null,
      });
    }
    return { dir, parts: out };
  }
  return null;
}

function spawnPipeline(base: string, findArgs: readonly string[]): Pipeline {
  // Its own process group: stopping it stops find and sort too, not only the shell.
  const child = spawn('sh', ['-c', SCRIPT, 'sh', ...findArgs], {
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
  // A listener holds the output until it is read: without one, Node drops the output of a
  // child that exits first (a small tree's fits in the pipe).
  const p: Pipeline = {
    child,
    exited,
    stderr: () => err,
    onOutput: null,
    release: () => child.stdout!.off('readable', held),
  };
  const held = () => {
    const on = p.onOutput;
    p.onOutput = null;
    on?.();
  };
  child.stdout!.on('readable', held);
  return p;
}

/** Start the next range's pipeline; the one after it starts once this one's find is done. */
function startNextPart(w: FindWalk): Pipeline | null {
  const part = w.split?.parts[w.started];
  if (w.stopped || part === undefined) return null;
  w.started++;
  const p = spawnPipeline(w.base, [...part.starts, ...pruneArgs(w.skip), ...printed('%p')]);
  part.pipeline = p;
  // sort writes once find has walked its range (or the pipeline failed): the next one may start.
  let next = false;
  const then = () => {
    if (!next) startNextPart(w);
    next = true;
  };
  p.onOutput = then;
  void p.exited.then(then);
  return p;
}

/** `early` when it was started with these `skip` folders (else it is stopped), or a walk started now. */
export function findWalkFor(
  early: FindWalk | null,
  base: string,
  skip: readonly string[],
  expected = 0,
): FindWalk {
  if (early && early.skip.join('\0') === skip.join('\0')) return early;
  if (early) stopFindWalk(early);
  return startFindWalk(base, skip, expected);
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
  settle?: SettleRaw,
): Promise<void> {
  const walked = await visitFound(
    found,
    visit,
    (rel) => lstatExact(base, rel, fail),
    (why) => fail('walk', '', new Error(why)),
    (range) => walkSorted(base, skip, visit, fail, range),
    settle,
  );
  if (!walked) await walkSorted(base, skip, visit, fail);
}

/** Stop a walk nobody reads (its output is dropped): the shells, finds and sorts. */
export function stopFindWalk(w: FindWalk): void {
  w.stopped = true;
  for (const p of [w.rest, ...(w.split?.parts ?? []).map((part) => part.pipeline)]) if (p) stopPipeline(p);
}

function stopPipeline(p: Pipeline): void {
  p.child.stdout!.destroy();
  const pid = p.child.pid;
  if (pid === undefined || p.child.exitCode !== null || p.child.signalCode !== null) return;
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
 * `walkRange` walks a range of the split folder in-process (its find could not).
 * `fail` words an error after entries were visited (sort failed, records out of order).
 * `settle` accounts for a record from its bytes where it can (then it is not visited);
 * a range walked in-process is visited whole.
 */
export async function visitFound(
  w: FindWalk,
  visit: SortedVisit,
  lstat: (rel: string) => FileStat | null,
  fail: (why: string) => Error,
  walkRange: (range: KeyRange) => Promise<void>,
  settle?: SettleRaw,
): Promise<boolean> {
  const order = new InOrder(visit, lstat, fail, settle);
  const entry = order.entry;
  /** Check that a pipeline read to its end walked without an error. */
  const ended = async (p: Pipeline, r: Records): Promise<void> => {
    const code = await p.exited;
    if (w.stopped) throw fail('stopped (the target was closed)');
    if (code !== 0 || r.carry !== null)
      throw fail(`find | sort ended with ${code ?? 'an error'}${p.stderr() ? `: ${p.stderr().trim()}` : ''}`);
  };
  const parts = async (): Promise<void> => {
    for (const [i, part] of (w.split?.parts ?? []).entries()) {
      // Started by now unless the walk was stopped.
      const p = part.pipeline ?? (i === w.started ? startNextPart(w) : null);
      if (p === null) throw fail('stopped (the target was closed)');
      const r = new Records(p);
      if ((await r.first()) !== WALKED) {
        stopPipeline(p);
        if (w.stopped) throw fail('stopped (the target was closed)');
        await walkRange(part.range);
        continue;
      }
      await r.each((data, at, end) => entry(data, at, end, 2));
      await ended(p, r);
    }
  };
  let read = false;
  try {
    if (w.rest === null) {
      await parts();
    } else {
      const rest = new Records(w.rest);
      const status = await rest.first();
      // find or sort could not start, or find met an error: nothing was visited.
      if (status !== WALKED) return false;
      if (w.split) {
        const dir = Buffer.from(`${w.split.dir}/`);
        // The rest's entries up to the split folder's own, then its ranges, then the rest's others.
        await rest.each((data, at, end) => {
          const from = pathAt(data, at, end);
          return from >= 0 && compareBytes(data, from, end, dir, 0, dir.length) > 0
            ? false
            : entry(data, at, end, 0);
        });
        // The split folder gone, or no longer a folder (a link now, no slash): nothing is below it.
        if (order.lastIs(dir)) await parts();
        else {
          w.started = w.split.parts.length; // none starts now
          for (const part of w.split.parts) if (part.pipeline) stopPipeline(part.pipeline);
        }
      }
      await rest.each((data, at, end) => entry(data, at, end, 0));
      await ended(w.rest, rest);
    }
    read = true;
  } catch (error) {
    // Stopped while read (stopFindWalk: the target closed), the stream ends early.
    if (w.stopped) throw fail('stopped (the target was closed)');
    throw error;
  } finally {
    if (!read) stopFindWalk(w);
  }
  return true;
}
