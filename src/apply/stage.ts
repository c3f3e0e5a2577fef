/**
 * Steps 2-3 of a deploy (SPEC §3): stage every new file, verify it against its blob id, back up
 * what it replaces, then journal. Before the journal nothing in the target changed.
 */
import { posix } from 'node:path';
import { describeError } from '../errors.js';
import type { Logger } from '../log.js';
import type { PublishAfter, Transport } from '../transport/transport.js';
import { GitObjects } from '../diff/git-objects.js';
import { hashAlgorithmOf } from '../diff/blob.js';
import type { DeleteOp, TargetPlan, WriteOp } from '../plan/types.js';
import type { Layout } from './layout.js';
import { storedState, type TargetState } from './state.js';
import type { ApplyProgress } from './progress.js';
import { readJournal, writeJournal } from './journal.js';
import { takeBackup } from './backup.js';
import { makeStateDirs } from './state-folder.js';
import { inOrderWith } from './in-order.js';
import { mapLimit } from '../pool.js';
import { cancelPoint } from '../cancelled.js';
import { swapRemovedDirs } from './folder-swap.js';
import { stageWrites, verifyError, type StagedWrites } from './stage-writes.js';
import type { Placement } from './staged-tree.js';
import { indexReader } from '../diff/listing-view.js';
import { arrayView } from '../array-view.js';

/** What staging needs of an open, locked session. */
export interface StageSession {
  transport: Transport;
  layout: Layout;
  deployId: string;
  /** The state as found after recovery: the backup records it for a rollback. */
  state: TargetState | null;
  /** The repository's shared object reader; without it one is opened for this deploy. */
  objects: GitObjects | null;
  concurrency: number;
  log: Logger;
  /** Cancelled: staging stops at its next file, before the journal (nothing in the target changed). */
  signal?: AbortSignal;
}

/** Stage every new file, check it against its blob id, back up what it replaces, then journal. Returns the bytes staged. */
export async function stageAndJournal(
  s: StageSession,
  plan: TargetPlan,
  repo: string,
  createdDirs: string[],
  newState: TargetState,
  place: Placement,
  onProgress?: (p: ApplyProgress) => void,
): Promise<number> {
  const t = s.transport;
  const l = s.layout;
  // 3. Back up everything about to be replaced or deleted, taken while the files stage: it
  // reads the target and writes only its own folder, as staging writes only its own (over
  // SSH their round trips overlap). Both end before the journal: from there a crash is undone.
  // A failed backup stops the staging at its next file: its error is the one told.
  const stop = new AbortController();
  const signal = s.signal ? AbortSignal.any([s.signal, stop.signal]) : stop.signal;
  const { backup, touched } = startBackup(s, plan, createdDirs);
  const [stagedR, backupR] = await Promise.allSettled([
    stageAndVerify(s, signal, plan, repo, place, onProgress),
    backup.catch((error: unknown) => {
      stop.abort();
      throw error;
    }),
  ]);
  if (backupR.status === 'rejected' && !s.signal?.aborted) throw backupR.reason;
  if (stagedR.status === 'rejected') throw stagedR.reason;
  if (backupR.status === 'rejected') throw backupR.reason;
  // The backup's listing, when it was left for the journal's chain (one wait for the host).
  const listing = backupR.value;
  onProgress?.({ phase: 'backup', done: touched, total: touched, bytes: stagedR.value });
  // The last point where a cancellation leaves the target as it was (the journal commits it).
  await cancelPoint(s.signal, 'the backup');
  // Staged files, the backup and the journal are made durable in one sync, before the journal's
  // rename makes them count (json-file.ts writeTextAtomicWithPending). The backup's listing is
  // published first: a backup without one is incomplete, so a crash before the journal leaves
  // nothing that counts.
  await writeJournal(
    t,
    l,
    {
      version: 1,
      kind: 'deploy',
      phase: 'commit',
      deployId: s.deployId,
      backupId: s.deployId,
      // Recovery only compares a deploy journal's deployId with the state's (then undoes it, or
      // drops the journal): the manifest, the state's one large part, stays out of it.
      newState: storedState({ ...newState, manifest: null, manifestFile: null }),
    },
    { withPending: true, before: listing ? [listing] : [] },
  );
  return stagedR.value;
}

/**
 * Step 3's backup, started, and how many paths it covers. Their list (a first deploy's
 * 500,000 operations) is takeBackup's alone: let go once it is written, not kept in the
 * caller's frame through the whole staging.
 */
function startBackup(
  s: StageSession,
  plan: TargetPlan,
  createdDirs: string[],
): { backup: Promise<PublishAfter | null>; touched: number } {
  // A first deploy deletes nothing, and a deploy that only deletes strays writes nothing: the one
  // list, not a copy of its 500,000 slots.
  const touched =
    plan.deletes.length === 0
      ? plan.writes
      : plan.writes.length === 0
        ? plan.deletes
        : both(plan.writes, plan.deletes);
  const backup = takeBackup(s.transport, s.layout, s.deployId, touched, s.state, createdDirs, s.concurrency, {
    removedDirs: swapRemovedDirs(plan),
    defer: true,
    expected: expectedFiles(plan),
  });
  return { backup, touched: touched.length };
}

/** The writes then the deletes as one list read when asked, not a copy (the strays' deletes are a view). */
function both(writes: readonly WriteOp[], deletes: readonly DeleteOp[]): ReadonlyArray<WriteOp | DeleteOp> {
  const write = indexReader(writes);
  const del = indexReader(deletes);
  const w = writes.length;
  const n = w + deletes.length;
  return arrayView<WriteOp | DeleteOp>({ length: () => n, read: (i) => (i < w ? write(i) : del(i - w)) });
}

/** Past this many, the backup asks each path's lstat before its link, as it did (a Set of them all is not made). */
const EXPECTED_MAX = 4096;

/**
 * The paths the plan saw as files on the target (updated, drifted, deleted): their backup links go
 * with their lstats. Not the added ones: a link asked of a missing path is a failure to throw away.
 */
function expectedFiles(plan: TargetPlan): ReadonlySet<string> | null {
  const c = plan.changes;
  if (c.updated.length + c.drift.length + plan.deletes.length > EXPECTED_MAX) return null;
  return new Set([...c.updated, ...c.drift, ...plan.deletes.map((d) => d.path)]);
}

/** Step 2: stage every new file complete inside the state folder, then check it against its blob id. */
async function stageAndVerify(
  s: StageSession,
  signal: AbortSignal,
  plan: TargetPlan,
  repo: string,
  place: Placement,
  onProgress?: (p: ApplyProgress) => void,
): Promise<number> {
  const t = s.transport;
  const staging = s.layout.stagingFor(s.deployId);
  // Where the host does the calls in order (Transport.inOrder), the staged files' records queue
  // behind the staging folder's mkdir instead of waiting for its answer: one round trip fewer.
  const made = inOrderWith(t, makeStateDirs(t, [s.layout.staging, staging]));
  // Folders the deploy creates are staged whole (staged-tree.ts), with the files in them.
  // mkdirp makes the parents too: only the deepest folders are asked for, all at once (pipelined
  // over SSH). In order behind the staging folder's too when the pool takes them all at once;
  // more than that, each waits for a place, so they wait for their folder.
  const leaves = leafDirs(place.stagingDirs);
  const together = leaves.length <= s.concurrency;
  await (together ? made.queued : made.done);
  const dirs = inOrderWith(
    t,
    mapLimit(leaves, s.concurrency, (dir) => t.mkdirp(place.tree(dir))),
  );
  if (!together) await dirs.done;
  const blobs = s.objects ?? new GitObjects(repo);
  const algorithm = hashAlgorithmOf(plan.to);
  let staged: StagedWrites;
  try {
    await dirs.queued;
    const writes = stageWrites(t, plan, blobs, algorithm, place, s.concurrency, onProgress, signal);
    staged = await made.before(dirs.before(writes));
  } finally {
    if (blobs !== s.objects) blobs.close();
  }
  await cancelPoint(signal, 'staging');
  const { bytes, hashedThere } = staged;
  const unhashed: string[] = [];
  for (let i = 0; i < plan.writes.length; i++) if (!hashedThere.has(i)) unhashed.push(place.staged(i));
  const hashes = await t.hashFiles(unhashed, { algorithm });
  // By index without a key string (a listing's writes: diff/listing-view.ts).
  const write = indexReader(plan.writes);
  for (let i = 0; i < hashedThere.size; i++) {
    if (hashedThere.has(i)) continue;
    const w = write(i);
    const got = hashes.get(place.staged(i));
    if (got !== w.blob) throw verifyError(t, w, got, false);
  }
  onProgress?.({ phase: 'verify', done: plan.writes.length, total: plan.writes.length, bytes });
  return bytes;
}

/** The folders of `dirs` that hold none of the others. */
function leafDirs(dirs: readonly string[]): string[] {
  const parents = new Set(dirs.map((d) => posix.dirname(d)));
  return dirs.filter((d) => !parents.has(d));
}

/** Staging and the partial backup of a deploy that failed before its journal. */
export async function dropLeftovers(s: StageSession, cause: unknown): Promise<void> {
  const t = s.transport;
  try {
    // A journal written before the failure (its rename reported lost) makes them count: keep them.
    if ((await readJournal(t, s.layout)) !== null) return;
    await t.removeTree(s.layout.stagingFor(s.deployId));
    await t.removeTree(s.layout.backupFor(s.deployId));
    // Taken while the files staged, the backup may have made its parent first: gone again if empty.
    await t.rmdir(s.layout.backups);
  } catch (error) {
    s.log.warn(
      `${t.description}: could not remove the staging of the failed deploy (${describeError(error)}); the next run will (first error: ${describeError(cause)})`,
    );
  }
}
