import { OP_LIST, parseListPayload } from './perl-helper-protocol.js';
import type { SshConnection } from './connection.js';
import { HelperGone, OpError, type SshOps } from './perl-helper-client.js';
import { toEntry } from './sftp.js';
import type { DirEntry } from '../walk.js';

/**
 * A folder's entries, with their lstat, in one round trip through the file helper
 * (SFTP takes four: opendir, readdir, readdir to the end, close). null: no such
 * folder; undefined: list over SFTP instead (no helper, or a link on the path,
 * which SFTP's listing follows, as it always did).
 */
export async function listWithHelper(
  conn: SshConnection,
  ops: SshOps,
  rel: string,
): Promise<DirEntry[] | null | undefined> {
  const helper = await ops.channel();
  if (!helper) return undefined;
  return ops.run(helper, OP_LIST, rel).then(
    (payload) => parseListPayload(payload)?.map((e) => ({ name: e.name, ...toEntry(e) })),
    (error: unknown) => {
      // As sftp-server reports them: a missing folder, or a file on the path, is "no such file".
      if (error instanceof OpError && (error.errno === 'ENOENT' || error.errno === 'ENOTDIR')) return null;
      if (error instanceof HelperGone || (error instanceof OpError && error.errno === 'ELOOP'))
        return undefined;
      throw conn.fail('list', rel, error);
    },
  );
}

/**
 * A folder's names as the exact bytes the host has (the list op sends them in
 * hex); null when the folder is missing or the helper does not run here.
 */
export async function rawNamesWithHelper(
  conn: SshConnection,
  ops: SshOps,
  rel: string,
): Promise<Buffer[] | null> {
  const helper = await ops.channel();
  if (!helper) return null;
  let payload: string;
  try {
    payload = await ops.run(helper, OP_LIST, rel);
  } catch (error) {
    if (error instanceof HelperGone || error instanceof OpError) return null;
    throw conn.fail('list', rel, error);
  }
  if (payload === '') return [];
  const names = payload.split(' ').map((record) => /^((?:[0-9a-f]{2})+),/.exec(record)?.[1]);
  if (names.some((n) => n === undefined)) return null; // garbled: the caller falls back to lstat
  return names.map((n) => Buffer.from(n!, 'hex'));
}
