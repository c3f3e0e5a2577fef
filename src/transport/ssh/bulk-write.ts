import type { HashAlgorithm } from '../../diff/blob.js';
import type { SshConnection } from './connection.js';
import { HelperGone, OpError, type SshOps } from './perl-helper-client.js';
import {
  bulkFailure,
  bulkList,
  OP_BULK_WRITE,
  parseBulkAnswer,
  type BulkFile,
} from './bulk-write-protocol.js';
import { hashFlags } from './stream-file.js';

/**
 * Many small files written by the file helper in one record (op 30,
 * bulk-write-protocol.ts), hashed as they are written: their blob ids, in
 * order. null: no helper, or it ended before answering (the caller writes them
 * one by one, which falls back to SFTP). The host's refusal names the file.
 */
export async function writeManyWithHelper(
  conn: SshConnection,
  client: SshOps,
  files: ReadonlyArray<BulkFile>,
  hash: HashAlgorithm,
): Promise<string[] | null> {
  const first = files[0]?.rel ?? '';
  let ops;
  try {
    ops = await client.channel();
  } catch (error) {
    throw conn.fail('write', first, error);
  }
  if (!ops || files.length === 0) return ops ? [] : null;
  const data = files.map((f) => f.data);
  const payload = await client
    .run(ops, OP_BULK_WRITE, bulkList(files), { mode: hashFlags(hash), data })
    .catch((error: unknown) => {
      if (error instanceof HelperGone) return null;
      if (error instanceof OpError) {
        const { index, text } = bulkFailure(error.text);
        throw conn.fail('write', files[index]?.rel ?? first, new OpError(error.errno, text));
      }
      throw conn.fail('write', first, error);
    });
  if (payload === null) return null;
  const ids = parseBulkAnswer(payload, files.length);
  if (!ids)
    throw conn.fail(
      'write',
      first,
      new Error(`the host's answer to a bulk write is not ${files.length} blob ids`),
    );
  return ids;
}
