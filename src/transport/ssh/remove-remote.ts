import { shellQuote } from '../shell-quote.js';
import type { SshConnection } from './connection.js';
import type { SshExec } from './exec-channels.js';
import { HelperGone, type SshOps } from './perl-helper-client.js';
import { OP_RMTREE } from './perl-helper-protocol.js';

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
