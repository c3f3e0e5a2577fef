import { OP_MKDIR, UMASK_FLAG } from './perl-helper-protocol.js';
import type { SshOps } from './perl-helper-client.js';
import { checkRelPath } from '../rel-path.js';

/**
 * mkdir -p of `rel` through the file helper, the last folder given exactly
 * `mode` when it is made here: one round trip where SFTP takes about six
 * (lstat, the parents' lstats, mkdir, then again the parents, lstat and
 * setstat for the mode). false: not done here (no helper, or the host refused,
 * e.g. a link on the path); the caller then makes it over SFTP, which says why.
 */
export async function mkdirWithHelper(ops: SshOps, rel: string, mode: number): Promise<boolean> {
  if (checkRelPath(rel, { allowRoot: true }) === '') return false;
  const helper = await ops.channel().catch(() => null);
  if (!helper) return false;
  return ops.run(helper, OP_MKDIR, rel, { mode: mode & 0o7777 }).then(
    () => true,
    () => false,
  );
}

/**
 * mkdirWithHelper of each of `rels`, all sent at once: the helper does its records in order, so
 * a folder listed after its parent finds it made (with `mode`), at the cost of one round trip.
 * false unless every one was done.
 */
export async function mkdirsWithHelper(ops: SshOps, rels: readonly string[], mode: number): Promise<boolean> {
  const done = await Promise.all(rels.map((rel) => mkdirWithHelper(ops, rel, mode)));
  return done.every(Boolean);
}

/**
 * mkdir -p of `rel` through the file helper, each folder made as mkdir(2) makes it (the umask
 * applies, as over SFTP): one record, pipelined with the others, where SFTP takes a round trip
 * for the parents' check and one per level. false: not done here (as mkdirWithHelper).
 */
export async function mkdirpWithHelper(ops: SshOps, rel: string): Promise<boolean> {
  if (checkRelPath(rel, { allowRoot: true }) === '') return false;
  const helper = await ops.channel().catch(() => null);
  if (!helper) return false;
  return ops.run(helper, OP_MKDIR, rel, { mode: UMASK_FLAG }).then(
    () => true,
    () => false,
  );
}
