import { randomBytes } from 'node:crypto';
import { checkRelPath, joinRoot } from '../rel-path.js';
import type { SshConnection } from './connection.js';
import type { ReadAhead } from './helper-peek.js';
import type { Peeked } from '../transport.js';
import { HelperGone, OpError, type OpsChannel, type SshOps } from './perl-helper-client.js';
import { OP_EXCL, OP_MKDIR, OP_RELEASE } from './perl-helper-protocol.js';

/** errno names of link(2) that mean "no hard links here": published the SFTP way instead. */
export const NO_HARD_LINKS = new Set(['EXDEV', 'EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'EMLINK']);

/** What createExclusive needs of SshFiles (file-ops.ts) for its SFTP way. */
export interface ExclusiveFiles {
  writeFile(rel: string, data: Buffer, mode: number): Promise<void>;
  link(from: string, to: string): Promise<boolean>;
  lstat(rel: string): Promise<unknown>;
  unlink(rel: string): Promise<void>;
  parentsReal(op: string, rel: string): Promise<void>;
}

/** A temporary name beside `rel`, for its content before it is published (the lock's cleanup knows the form). */
function exclusiveTemp(rel: string): string {
  return `${rel}.new-${randomBytes(4).toString('hex')}`;
}

/**
 * The file helper's excl record (perl-helper-protocol.ts): written whole under
 * `tmp`, synced, published by link(2) to `rel`, `tmp` removed, all in one
 * round trip. Resolves true (created), false (`rel` exists), or null: not done
 * here (the helper ended, or the host has no hard links), so the caller takes
 * the SFTP way. The record is queued at once (before this returns), so a record
 * sent right after it is done after it.
 */
export function createWithHelper(
  conn: SshConnection,
  ops: SshOps,
  helper: OpsChannel,
  rel: string,
  data: Buffer,
  mode: number,
  chained = false,
): Promise<boolean | null> {
  checkRelPath(rel);
  return ops.run(helper, OP_EXCL, rel, { to: exclusiveTemp(rel), mode: mode & 0o7777, data, chained }).then(
    (payload) => payload === '1',
    (error: unknown) => {
      if (error instanceof HelperGone) return null;
      if (error instanceof OpError && NO_HARD_LINKS.has(error.errno)) return null;
      throw conn.fail('create', rel, error);
    },
  );
}

/**
 * SshTransport's createExclusiveAndPeek: the create (and the folder it goes in, made first
 * where given) with the peek right behind it, in one turn (helper-peek.ts `behind`). null
 * where the folder could not be made so (nothing done); `usual` (createExclusive) where the
 * helper does not run or the host has no hard links.
 */
export async function createAndPeek(
  conn: SshConnection,
  ops: SshOps,
  ahead: Pick<ReadAhead, 'behind'>,
  file: { rel: string; data: Buffer; mode: number },
  peek: { paths: readonly string[]; reads: readonly string[]; folder?: { rel: string; mode: number } },
  usual: () => Promise<boolean>,
): Promise<{ created: boolean; seen: ReadonlyMap<string, Peeked> | null } | null> {
  const { folder } = peek;
  const both = await ahead.behind(
    folder ? [folder.rel, file.rel] : [file.rel],
    (helper) =>
      folder
        ? createInFolder(conn, ops, helper, folder, file)
        : createWithHelper(conn, ops, helper, file.rel, file.data, file.mode),
    peek.paths,
    peek.reads,
  );
  if (both?.result === 'no folder' || (folder && !both)) return null;
  if (typeof both?.result === 'boolean') return { created: both.result, seen: both.seen };
  // No helper, or no hard links on the host: the usual way, then whatever reads follow ask.
  return { created: await usual(), seen: null };
}

/**
 * createWithHelper of `file` in `folder`, the folder made first (mkdir -p, exactly `folder.mode`
 * on the last one where it is made) and the create chained to it: both queued at once, so the
 * host does them in one round trip. 'no folder' where the mkdir failed: nothing was created,
 * and the caller makes the folder its usual way (which says why).
 */
async function createInFolder(
  conn: SshConnection,
  ops: SshOps,
  helper: OpsChannel,
  folder: { rel: string; mode: number },
  file: { rel: string; data: Buffer; mode: number },
): Promise<boolean | null | 'no folder'> {
  checkRelPath(folder.rel);
  const made = ops.run(helper, OP_MKDIR, folder.rel, { mode: folder.mode & 0o7777 }).then(
    () => true,
    () => false,
  );
  const created = createWithHelper(conn, ops, helper, file.rel, file.data, file.mode, true);
  if (await made) return created;
  await created.catch(() => undefined); // not run: the record before it failed
  return 'no folder';
}

/**
 * createExclusive over SFTP (with the helper's write and link where it runs, a
 * round trip each): written whole (and synced) under a temporary name, then
 * published by a hard link, which fails when `rel` exists: a full disk or a
 * dropped connection mid-write never leaves an empty `rel`. Where the host has
 * no hard links, SFTP's own rename, which refuses an existing target, publishes it.
 */
export async function createOverSftp(
  conn: SshConnection,
  files: ExclusiveFiles,
  rel: string,
  data: Buffer,
  mode: number,
): Promise<boolean> {
  const abs = (r: string) => joinRoot(conn.base, checkRelPath(r));
  abs(rel); // an unsafe name fails here, before a temporary name is made from it
  await files.parentsReal('create', rel);
  const tmp = exclusiveTemp(rel);
  try {
    await files.writeFile(tmp, data, mode); // a full disk fails here: the finally removes what it left
    let linked: boolean;
    try {
      linked = await files.link(tmp, rel);
    } catch (error) {
      if (conn.lost) throw conn.lost;
      if ((await files.lstat(rel)) !== null) return false;
      throw conn.fail('create', rel, error);
    }
    if (linked) return true;
    try {
      await conn.call<void>((cb) => conn.sftp.rename(abs(tmp), abs(rel), cb));
      return true;
    } catch (error) {
      if (conn.lost) throw conn.lost;
      if ((await files.lstat(rel)) !== null) return false;
      throw conn.fail('create', rel, error);
    }
  } finally {
    await files.unlink(tmp).catch(() => undefined);
  }
}

/**
 * The file helper's release record: `rel` removed only while its bytes start with `mark`, checked and
 * removed on the host in one round trip. Resolves true (removed), false (absent or another's),
 * or null: no helper here (the caller reads and removes as usual).
 */
export async function releaseWithHelper(
  conn: SshConnection,
  ops: SshOps,
  rel: string,
  mark: string,
): Promise<boolean | null> {
  checkRelPath(rel);
  const helper = await ops.channel();
  if (!helper) return null;
  return ops.run(helper, OP_RELEASE, rel, { to: mark }).then(
    (payload) => payload === '1',
    (error: unknown) => {
      if (error instanceof HelperGone) return null;
      throw conn.fail('remove', rel, error);
    },
  );
}
