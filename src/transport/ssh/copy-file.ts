/**
 * A file copied within an SSH target (Transport.copyFile): a rollback's
 * restore from its backup, a unit's kept file where no hard link can be made.
 * The file helper copies it on the host (op 27, copy-protocol.ts): the bytes
 * never cross the network and none is held here. Without the helper it goes
 * through this process over SFTP, a few chunks in flight (sftp-read-stream.ts
 * into `pourAndClose`): never whole in memory either way.
 */
import { CheckedSource } from '../byte-source.js';
import type { SshConnection } from './connection.js';
import { OP_COPY } from './copy-protocol.js';
import { HelperGone, type SshOps } from './perl-helper-client.js';
import { SYNC_FLAG } from './perl-helper-protocol.js';
import { pourAndClose } from './sftp.js';
import { readOverSftp } from './sftp-read-stream.js';

export interface CopyJob {
  from: string;
  to: string;
  mode: number;
  sync: boolean;
}

/**
 * Copied on the host by the file helper; false where it does not run (or ended before
 * answering): the caller copies over SFTP then.
 * @throws the host's refusal (a link, a folder, a file changed while copied), naming both paths
 */
export async function copyWithHelper(conn: SshConnection, ops: SshOps, job: CopyJob): Promise<boolean> {
  const helper = await ops.channel().catch(() => null);
  if (!helper) return false;
  const flags = (job.mode & 0o7777) | (job.sync ? SYNC_FLAG : 0);
  return ops.run(helper, OP_COPY, job.from, { to: job.to, mode: flags }).then(
    () => true,
    (error: unknown) => {
      if (error instanceof HelperGone) return false;
      throw conn.fail('copy', job.from, error, job.to);
    },
  );
}

/**
 * Copied through this process over SFTP. `source` checks `from` (SFTP opens through links)
 * and gives its absolute path; `open` checks `to` and opens it as a new file.
 */
export async function copyOverSftp(
  conn: SshConnection,
  job: CopyJob,
  ends: { source(): Promise<string>; open(): Promise<Buffer> },
): Promise<void> {
  try {
    const file = await readOverSftp(conn, await ends.source());
    try {
      const source = new CheckedSource(file);
      await pourAndClose(conn, await ends.open(), source, job.mode, job.sync).catch((error: unknown) => {
        throw source.blame(error);
      });
    } finally {
      await file.close();
    }
  } catch (error) {
    throw conn.fail('copy', job.from, error, job.to);
  }
}
