import { hashList, OP_SYNC } from './perl-helper-protocol.js';
import type { SshConnection } from './connection.js';
import type { SshExec } from './exec-channels.js';
import { HelperGone, OpError, type SshOps } from './perl-helper-client.js';
import { fsyncEach } from './sftp.js';
import { joinRoot } from '../rel-path.js';
import type { UnsyncedPaths } from './unsynced-paths.js';

/** Paths per fsync record to the file helper (where syncfs fails). */
const SYNC_BATCH = 1000;

/**
 * Make files written without a sync durable, in as few round trips as the host
 * allows: one syncfs(2) (`sync -f`, GNU coreutils) for the whole file system,
 * run by the file helper (no new remote shell); where that fails, fsyncs of
 * those files by the helper, a record per 1,000 files. Without the helper:
 * `sync -f` over exec, else an fsync@openssh.com per file over SFTP.
 * `files` are relative to the target root.
 */
export async function syncFiles(
  conn: SshConnection,
  exec: SshExec,
  ops: SshOps,
  files: readonly string[],
  concurrency: number,
): Promise<void> {
  if (files.length === 0) return;
  if (await syncWithHelper(conn, ops, files)) return;
  if ((await exec.caps()).exec) {
    const run = await exec.runRaw('sync -f .', Buffer.alloc(0));
    if (run.code === 0) return;
    conn.log.debug(
      `ssh: sync -f failed on ${conn.target.host} (exit ${run.code}); fsyncing ${files.length} files one by one`,
    );
  }
  await fsyncEach(
    conn,
    files.map((rel) => joinRoot(conn.base, rel)),
    concurrency,
  );
}

/**
 * Paths waiting for a sync before a sync ahead runs: ~2.5 MB of them at most between two, and a
 * syncfs on the host per 16,384 files written (31 for a 500,000-file first deploy).
 */
export const SYNC_AHEAD_PATHS = 16_384;

/**
 * A trigger, pulled after each bulk write: once SYNC_AHEAD_PATHS paths wait for a sync, a syncfs
 * by the file helper (queued behind the writes it covers), so that their paths need not be held
 * to the end (unsynced-paths.ts). Cheap on the host: its sync child has flushed most of them
 * already (bulk-write-protocol.ts). One at a time, never awaited: a refusal stops them (the final
 * sync fsyncs each path then); any other failure only keeps the paths, for the final sync.
 */
export function syncAheadOf(ops: () => SshOps, unsynced: UnsyncedPaths): () => void {
  let state: 'idle' | 'running' | 'refused' = 'idle';
  return () => {
    if (state !== 'idle' || unsynced.size < SYNC_AHEAD_PATHS) return;
    const mark = unsynced.mark();
    state = 'running';
    void syncfsAhead(ops()).then((done) => {
      if (done) unsynced.synced(mark);
      state = done === false ? 'refused' : 'idle';
    });
  };
}

/** A syncfs by the file helper: true when done, false when the host refused it, null when it could not be asked. Never rejects. */
async function syncfsAhead(ops: SshOps): Promise<boolean | null> {
  try {
    const helper = await ops.channel();
    if (!helper) return null;
    await ops.run(helper, OP_SYNC, '');
    return true;
  } catch (error) {
    return error instanceof OpError ? false : null;
  }
}

/** Through the file helper: true when done, false when there is no helper (or it ended). */
async function syncWithHelper(conn: SshConnection, ops: SshOps, files: readonly string[]): Promise<boolean> {
  const helper = await ops.channel();
  if (!helper) return false;
  const fellBack = (error: unknown) => {
    if (error instanceof HelperGone) return false;
    throw conn.fail('sync', files[0] ?? '', error);
  };
  const synced = await ops.run(helper, OP_SYNC, '').then(
    () => true,
    (error: unknown) => {
      if (!(error instanceof OpError)) return fellBack(error);
      conn.log.debug(`ssh: sync -f failed on ${conn.target.host}; fsyncing ${files.length} files`);
      return null;
    },
  );
  if (synced !== null) return synced;
  const batches: string[][] = [];
  for (let at = 0; at < files.length; at += SYNC_BATCH) batches.push(files.slice(at, at + SYNC_BATCH));
  return Promise.all(batches.map((batch) => ops.run(helper, OP_SYNC, hashList(batch)))).then(
    () => true,
    fellBack,
  );
}
