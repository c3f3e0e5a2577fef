import type { PublishSync, Transport } from '../transport.js';
import type { SshConnection } from './connection.js';
import type { UnsyncedPaths } from './unsynced-paths.js';
import { HelperGone, OpError, type SshOps } from './perl-helper-client.js';
import { OP_RENAME, OP_SYNC, OP_UNLINK, OP_WRITE, SYNC_FLAG } from './perl-helper-protocol.js';

interface PublishJob {
  tmp: string;
  rel: string;
  data: Buffer;
  mode: number;
  sync: PublishSync;
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
 */
async function publishWithHelper(conn: SshConnection, client: SshOps, job: PublishJob): Promise<Published> {
  const ops = await client.channel();
  if (!ops) return null;
  const { tmp, rel, sync } = job;
  const flags = (job.mode & 0o7777) | (sync === 'file' ? SYNC_FLAG : 0);
  // Queued in one turn: adjacent on the channel, each chained to the one before it.
  const steps = [client.run(ops, OP_WRITE, tmp, { mode: flags, data: job.data })];
  if (sync === 'batch') steps.push(client.run(ops, OP_SYNC, '', { chained: true }));
  steps.push(client.run(ops, OP_RENAME, tmp, { to: rel, chained: true }));
  const settled = await Promise.allSettled(steps);
  const failed = settled.findIndex((s) => s.status === 'rejected');
  if (failed === -1) return 'published';
  const error = (settled[failed] as PromiseRejectedResult).reason as unknown;
  if (settled.some((s) => s.status === 'rejected' && s.reason instanceof HelperGone)) return 'gone';
  const step = failed === 0 ? 'write' : sync === 'batch' && failed === 1 ? 'sync' : 'rename';
  // syncfs refused (not Linux, or not allowed): the caller's fsyncs, one per file, do it instead.
  if (step === 'sync' && error instanceof OpError) return 'written';
  // Never published: the temporary file is litter (its record cannot fail on a missing file).
  await client.run(ops, OP_UNLINK, tmp).catch(() => undefined);
  throw conn.fail(step, tmp, error, step === 'rename' ? rel : undefined);
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
  job: PublishJob,
): Promise<boolean> {
  const { files, unsynced } = own;
  // A `batch` publish's syncfs covers every write before it.
  const before = unsynced.mark();
  const done = await publishWithHelper(conn, client, job);
  if (done === null) return false;
  if (done === 'gone') {
    // Renamed or not, the caller publishes it again; a temporary file left would be litter.
    await files.unlink(job.tmp).catch(() => undefined);
    return false;
  }
  if (job.sync === 'none') unsynced.add(job.rel);
  if (done === 'written') {
    // The host refused syncfs: the same files made durable one by one, then the rename.
    unsynced.add(job.tmp);
    await files.syncWritten().catch(async (error: unknown) => {
      await files.unlink(job.tmp).catch(() => undefined);
      throw error;
    });
    await files.rename(job.tmp, job.rel);
  } else if (job.sync === 'batch') unsynced.synced(before);
  return true;
}
