import type { WriteOptions } from '../transport.js';
import type { SshConnection } from './connection.js';
import { HelperGone, type SshOps } from './perl-helper-client.js';
import { OP_WRITE, SYNC_FLAG } from './perl-helper-protocol.js';
import { blobIdOf, hashFlags } from './stream-file.js';

/**
 * A whole file written by the file helper: one record among many on its
 * channel. With `hash`, the helper hashes the bytes as it writes them and
 * answers with their blob id (no read-back, no second pass). `onQueued` hears
 * when the record is on the channel (perl-helper-client.ts `flush`), before the
 * answer. null: no helper, or it ended first; the caller writes over SFTP.
 */
export async function writeWithHelper(
  conn: SshConnection,
  client: SshOps,
  rel: string,
  data: Buffer,
  mode: number,
  sync: boolean,
  { hash, onQueued }: Pick<WriteOptions, 'hash' | 'onQueued'>,
): Promise<{ blob: string | undefined } | null> {
  let ops;
  try {
    ops = await client.channel();
  } catch (error) {
    throw conn.fail('write', rel, error);
  }
  if (!ops) return null;
  const flags = (mode & 0o7777) | (sync ? SYNC_FLAG : 0) | hashFlags(hash);
  return client.run(ops, OP_WRITE, rel, { mode: flags, data, onQueued }).then(
    (payload) => ({ blob: hash ? blobIdOf(payload, hash) : undefined }),
    (error: unknown) => {
      if (error instanceof HelperGone) return null; // write it again over SFTP
      throw conn.fail('write', rel, error);
    },
  );
}
