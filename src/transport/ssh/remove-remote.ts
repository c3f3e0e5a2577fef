import { shellQuote } from '../shell-quote.js';
import { checkRelPath } from '../rel-path.js';
import type { SshConnection } from './connection.js';
import type { SshExec } from './exec-channels.js';
import { HelperGone, type SshOps } from './perl-helper-client.js';
import { OP_RMTREE, OP_UNLINK } from './perl-helper-protocol.js';

/**
 * rm -rf of the folder `rel` (relative to the root, parents already checked) in
 * one round trip instead of one per file; rm -rf never follows symlinks. Through
 * the file helper where it runs (no new remote shell), else over exec. false
 * where neither runs: the caller removes the tree over SFTP.
 */
export async function removeRemotely(
  conn: SshConnection,
  ops: SshOps,
  exec: SshExec,
  rel: string,
  /** Through the helper or not at all (the caller has not checked the parents: the helper does). */
  helperOnly = false,
): Promise<boolean> {
  const helper = await ops.channel();
  if (helper) {
    const done = await ops.run(helper, OP_RMTREE, rel).then(
      () => true,
      (error: unknown) => {
        if (error instanceof HelperGone) return false;
        throw conn.fail('remove', rel, error);
      },
    );
    if (done) return true;
  }
  if (helperOnly || !(await exec.caps()).exec) return false;
  try {
    await exec.shell(`rm -rf -- ${shellQuote(`./${rel}`)}`);
  } catch (error) {
    throw conn.fail('remove', rel, error);
  }
  return true;
}

/**
 * Transport.unlinkThenRemoveTree over SSH: unlink of the file `rel`, then rm -rf of the folder
 * `tree` chained to it (run only if the unlink worked), as two records of one turn of the file
 * helper: a backup's listing, then its folder (backup.ts discardBackup), one wait for the host
 * instead of two. A failure is thrown as that step's own. Where the helper does not run them
 * (none here, or it ended), `files` does both again, one after the other (each is done when
 * already done).
 */
export async function unlinkThenRemove(
  conn: SshConnection,
  ops: SshOps,
  files: { unlink(rel: string): Promise<void>; removeTree(rel: string): Promise<void> },
  rel: string,
  tree: string,
): Promise<void> {
  if (await unlinkThenRemoveWithHelper(conn, ops, checkRelPath(rel), checkRelPath(tree))) return;
  await files.unlink(rel);
  await files.removeTree(tree);
}

async function unlinkThenRemoveWithHelper(
  conn: SshConnection,
  ops: SshOps,
  rel: string,
  tree: string,
): Promise<boolean> {
  const helper = await ops.channel();
  if (!helper) return false;
  const [unlinked, removed] = await Promise.allSettled([
    ops.run(helper, OP_UNLINK, rel),
    ops.run(helper, OP_RMTREE, tree, { chained: true }),
  ]);
  const gone = (r: PromiseSettledResult<string>) => r.status === 'rejected' && r.reason instanceof HelperGone;
  if (gone(unlinked) || gone(removed)) return false;
  if (unlinked.status === 'rejected') throw conn.fail('unlink', rel, unlinked.reason);
  if (removed.status === 'rejected') throw conn.fail('remove', tree, removed.reason);
  return true;
}
