/**
 * SshTransport's keepMany and removeMany: many paths backed up or removed in one record of
 * the file helper (many-ops-protocol.ts). null (false) where the helper does not run or ended
 * before answering: the caller then goes path by path (over SFTP), from the same paths. A
 * path removed already is then found gone; a backup link the ended record had made already
 * is refused as there (EEXIST), so that deploy fails as on a lost connection, and recovery
 * takes it from there.
 */
import { checkRelPath } from '../rel-path.js';
import type { SshConnection } from './connection.js';
import { HelperGone, OpError, type SshOps } from './perl-helper-client.js';
import { SMALL_TREE } from './perl-helper-protocol.js';
import type { KeepItem, Kept } from '../transport.js';
import { OP_KEEP_MANY, OP_REMOVE_MANY, parseKeepMany, parseRemoveMany } from './many-ops-protocol.js';
import { NO_HARD_LINKS } from './create-exclusive.js';

/** A keep's name in its folder: digits (backup.ts names them by index). */
const NAME = /^\d{1,12}$/;

/** Each path's lstat, and a file hard-linked to `${dir}/${name}`; null where the helper does not run. */
export async function keepManyWithHelper(
  conn: SshConnection,
  ops: SshOps,
  dir: string,
  items: readonly KeepItem[],
): Promise<Kept[] | null> {
  checkRelPath(dir);
  for (const { path, name } of items) {
    checkRelPath(path);
    if (!NAME.test(name)) throw new RangeError(`a backup name ${JSON.stringify(name)} is not digits`);
  }
  // A failure of the whole record is the folder's (a link on its path, the lists' lengths).
  const to = [dir, ...items.map((i) => i.name)].join('\0');
  const paths = items.map((i) => i.path);
  const answer = await ask(conn, ops, 'back up into', dir, OP_KEEP_MANY, paths, { to });
  if (answer === null) return null;
  const tokens = parseKeepMany(answer, items.length);
  if (!tokens) throw conn.fail('back up into', dir, new Error(garbled(answer)));
  return tokens.map((k, i): Kept => {
    if (k.kind === 'failed')
      throw conn.fail('back up', items[i]!.path, new OpError(k.errno, 'the host could not look at it'));
    // A host without hard links there (another file system, none allowed): the caller copies it.
    if (k.kind === 'file' && !k.linked && !NO_HARD_LINKS.has(k.errno)) {
      const { path, name } = items[i]!;
      throw conn.fail('link', path, new OpError(k.errno, 'the host refused the link'), `${dir}/${name}`);
    }
    return k.kind === 'file' ? { kind: 'file', mode: k.mode, linked: k.linked } : k;
  });
}

/**
 * Remove each path (a folder with all it holds); nothing there is fine. false where the
 * helper does not run. The first path the host could not remove is thrown, named.
 */
export async function removeManyWithHelper(
  conn: SshConnection,
  ops: SshOps,
  rels: readonly string[],
): Promise<boolean> {
  for (const rel of rels) checkRelPath(rel);
  const answer = await ask(conn, ops, 'remove', rels[0] ?? '', OP_REMOVE_MANY, rels, { mode: SMALL_TREE });
  if (answer === null) return false;
  const failed = parseRemoveMany(answer, rels.length);
  if (!failed) throw conn.fail('remove', rels[0] ?? '', new Error(garbled(answer)));
  for (const [i, errno] of failed)
    throw conn.fail('remove', rels[i]!, new OpError(errno, 'the host refused to remove it'));
  return true;
}

/** One record of `paths`; null where the helper does not run (or ended before answering). */
async function ask(
  conn: SshConnection,
  ops: SshOps,
  name: string,
  first: string,
  op: typeof OP_KEEP_MANY | typeof OP_REMOVE_MANY,
  paths: readonly string[],
  options: { to?: string; mode?: number },
): Promise<string | null> {
  try {
    const helper = await ops.channel();
    if (!helper) return null;
    return await ops.run(helper, op, paths.join('\0'), options);
  } catch (error) {
    if (error instanceof HelperGone) return null;
    throw conn.fail(name, first, error);
  }
}

const garbled = (answer: string): string =>
  `the file helper's answer is garbled (${JSON.stringify(answer.slice(0, 80))})`;
