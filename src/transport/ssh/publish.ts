import type { PublishAfter, PublishSync, Transport } from '../transport.js';
import { checkRelPath } from '../rel-path.js';
import type { SshConnection } from './connection.js';
import type { UnsyncedPaths } from './unsynced-paths.js';
import { HelperGone, OpError, type SshOps } from './perl-helper-client.js';
import { OP_RENAME, OP_SYNC, OP_UNLINK, OP_WRITE, SYNC_FLAG } from './perl-helper-protocol.js';

export interface PublishJob {
  tmp: string;
  rel: string;
  data: Buffer;
  mode: number;
  sync: PublishSync;
  /** Published first, unsynced, in the same chain (Transport.publishFile's `before`). */
  before: readonly PublishAfter[];
}

/** What the host did of a publish (see publishWithHelper). */
type Published =
  /** Written, made durable as asked, renamed: done. */
  | 'published'
  /** Written under the temporary name, then the host's syncfs was refused: sync it another way, then rename. */
  | 'written'
  /** The helper ended before it answered: the temporary file may exist; done or not, nobody knows. */
  | 'gone'
  /** No helper here: nothing was sent. */
  | null;

/**
 * A file published as json-file.ts does it (written under a temporary name, made durable,
 * renamed over its final name) in one round trip: the write, the file system's sync (`batch`:
 * this file and every one written unsynced before it) and the rename go to the file helper
 * back to back as chained records, so the host runs each only if the one before it succeeded
 * (perl-helper-protocol.ts CHAIN_FLAG). The order on disk is the one three awaited calls gave:
 * the rename never runs unless the bytes, and with them whatever the file vouches for, are
 * durable. A failed step is thrown as the transport's error, the temporary file removed.
 * Files `before` it go first in the same chain, each written and renamed (a deploy's backup
 * listing before its journal: one wait for the host, not two).
 */
async function publishWithHelper(conn: SshConnection, client: SshOps, job: PublishJob): Promise<Published> {
  const ops = await client.channel();
  if (!ops) return null;
  const { tmp, rel, sync } = job;
  const flags = (job.mode & 0o7777) | (sync === 'file' ? SYNC_FLAG : 0);
  // Queued in one turn: adjacent on the channel, each chained to the one before it. What each
  // record is, to name a failed one: its step, its file's temporary and final names.
  const steps: Promise<string>[] = [];
  const what: Array<{ step: 'write' | 'sync' | 'rename'; tmp: string; rel: string }> = [];
  for (const b of job.before) {
    const chained = steps.length > 0;
    steps.push(client.run(ops, OP_WRITE, b.tmp, { mode: b.mode & 0o7777, data: b.data, chained }));
    steps.push(client.run(ops, OP_RENAME, b.tmp, { to: b.rel, chained: true }));
    what.push({ step: 'write', tmp: b.tmp, rel: b.rel }, { step: 'rename', tmp: b.tmp, rel: b.rel });
  }
  steps.push(client.run(ops, OP_WRITE, tmp, { mode: flags, data: job.data, chained: steps.length > 0 }));
  what.push({ step: 'write', tmp, rel });
  if (sync === 'batch') {
    steps.push(client.run(ops, OP_SYNC, '', { chained: true }));
    what.push({ step: 'sync', tmp, rel });
  }
  steps.push(client.run(ops, OP_RENAME, tmp, { to: rel, chained: true }));
  what.push({ step: 'rename', tmp, rel });
  const settled = await Promise.allSettled(steps);
  const failed = settled.findIndex((s) => s.status === 'rejected');
  if (failed === -1) return 'published';
  const error = (settled[failed] as PromiseRejectedResult).reason as unknown;
  if (settled.some((s) => s.status === 'rejected' && s.reason instanceof HelperGone)) return 'gone';
  const { step, tmp: at, rel: to } = what[failed]!;
  // syncfs refused (not Linux, or not allowed): the caller's fsyncs, one per file, do it instead.
  if (step === 'sync' && error instanceof OpError) return 'written';
  // Never published: the temporary file is litter (its record cannot fail on a missing file). The
  // records after it did not run; the files before it are in place, whole.
  await client.run(ops, OP_UNLINK, at).catch(() => undefined);
  throw conn.fail(step, at, error, step === 'rename' ? to : undefined);
}

/**
 * Transport.publishFile over SSH: publishWithHelper, then what the host left to do. `unsynced`
 * is the transport's set of files written without a sync (file-ops.ts): a `batch` publish
 * makes them durable, `none` adds the file to them. false: no helper, nothing left behind.
 */
export async function publishFile(
  conn: SshConnection,
  client: SshOps,
  own: {
    files: Pick<Transport, 'syncWritten' | 'unlink' | 'rename'>;
    unsynced: UnsyncedPaths;
  },
  given: PublishJob,
): Promise<boolean> {
  const { files, unsynced } = own;
  const named = <T extends { tmp: string; rel: string }>(f: T): T => ({
    ...f,
    tmp: checkRelPath(f.tmp),
    rel: checkRelPath(f.rel),
  });
  const job = { ...named(given), before: given.before.map(named) };
  // A `batch` publish's syncfs covers every write before it.
  const mark = unsynced.mark();
  const done = await publishWithHelper(conn, client, job);
  if (done === null) return false;
  if (done === 'gone') {
    // Renamed or not, the caller publishes them again; a temporary file left would be litter.
    for (const t of [...job.before.map((b) => b.tmp), job.tmp]) await files.unlink(t).catch(() => undefined);
    return false;
  }
  // Written unsynced: durable with the batch's sync, or left to the next one.
  if (job.sync !== 'batch' || done === 'written') for (const b of job.before) unsynced.add(b.rel);
  if (job.sync === 'none') unsynced.add(job.rel);
  if (done === 'written') {
    // The host refused syncfs: the same files made durable one by one, then the rename.
    unsynced.add(job.tmp);
    await files.syncWritten().catch(async (error: unknown) => {
      await files.unlink(job.tmp).catch(() => undefined);
      throw error;
    });
    await files.rename(job.tmp, job.rel);
  } else if (job.sync === 'batch') unsynced.synced(mark);
  return true;
}
