/**
 * The state folder belongs to diffship. Whoever can write the target folder
 * must not be able to steer diffship through it: a state folder (or `staging`,
 * `backups`, a backup) that is a symlink would send writes and deletes
 * elsewhere, and a journal or backup planted by another user would be
 * "restored" with diffship's privileges. So, like OpenSSH's StrictModes:
 *
 * - every component of the state folder's path, and every folder diffship
 *   keeps in it, is a real folder (never a link), checked before the first
 *   write;
 * - the state folder, `staging`, `backups`, each backup and its manifest, the
 *   journal, the state file and the manifest files are owned by the user diffship runs as on the
 *   target (or root), and are not group- or world-writable.
 *
 * Backups and staging entries are diffship's only when their names are deploy
 * ids; anything else found there is left alone, never listed, followed or deleted.
 */
import { aType } from '../entry-type.js';
import { TransportError } from '../errors.js';
import type { Entry, Transport } from '../transport/transport.js';
import type { Layout } from './layout.js';
import { parentsOf } from './safe-path.js';
import { DEPLOY_ID } from './state-schema.js';

/** Mode of every folder diffship makes in its state folder: nobody else may add or swap files there. */
export const STATE_DIR_MODE = 0o755;

function refuse(t: Transport, rel: string, why: string, fix: string): TransportError {
  return new TransportError('E_UNSAFE', `${t.description}: ${rel} ${why} — ${fix}`);
}

const removeFix = (rel: string) =>
  `remove it (rm ${rel} in the target folder); diffship creates its state folder itself`;

/**
 * Before anything is created or read: every component of the state folder's
 * path is a real folder, or absent (the first deploy makes it). true: the state
 * folder itself is there (nothing to make).
 */
export async function checkStateDirPath(t: Transport, l: Layout): Promise<boolean> {
  for (const rel of [...parentsOf(l.dir), l.dir]) {
    const e = await t.lstat(rel);
    if (e === null) return false;
    if (e.type !== 'dir') throw refuse(t, rel, `is ${aType(e.type)}, not a folder`, removeFix(rel));
  }
  return true;
}

/** mkdir -p of a folder inside the state folder, then its mode set exactly (the umask may allow group write). */
export async function makeStateDir(t: Transport, rel: string): Promise<void> {
  if (await t.makeDir?.(rel, STATE_DIR_MODE)) return;
  const found = await t.lstat(rel);
  // Already a folder (not a link): nothing to make, and a fleet spares a threadpool round trip.
  if (found?.type === 'dir') return;
  const existed = found !== null;
  await t.mkdirp(rel);
  if (!existed) await t.chmod(rel, STATE_DIR_MODE);
}

/**
 * makeStateDir of each of `rels` (parents first): asked together where the transport does them
 * in order (SSH's file helper), else one after another.
 */
export async function makeStateDirs(t: Transport, rels: readonly string[]): Promise<void> {
  if (await t.makeDirs?.(rels, STATE_DIR_MODE)) return;
  for (const rel of rels) await makeStateDir(t, rel);
}

/** A manifest file name diffship made (manifest-store.ts): a deploy id and `.tsv`. */
export const isManifestFileName = (name: string): boolean =>
  name.endsWith('.tsv') && DEPLOY_ID.test(name.slice(0, -4));

/** The walk echo of a manifest file (apply/walk-echo-file.ts): its name with `.walk` for `.tsv`. */
export const echoFileName = (manifestFile: string): string => `${manifestFile.slice(0, -4)}.walk`;

/** An echo file name diffship made: a manifest file's (echoFileName). */
export const isEchoFileName = (name: string): boolean =>
  name.endsWith('.walk') && isManifestFileName(`${name.slice(0, -5)}.tsv`);

/** A backup folder name diffship made: a deploy id. */
export const isBackupName = (name: string): boolean => DEPLOY_ID.test(name);

/**
 * Check what diffship is about to trust. `owner`: the uid diffship runs as on
 * the target (the owner of the lock file it just created); undefined where the
 * transport does not report owners (then only links and modes are checked).
 */
export async function checkStateFolder(t: Transport, l: Layout, owner: number | undefined): Promise<void> {
  const check = async (rel: string, type: 'dir' | 'file'): Promise<Entry | null> => {
    const e = await t.lstat(rel);
    if (e === null) return null;
    if (e.type !== type) throw refuse(t, rel, `is ${aType(e.type)}, not ${aType(type)}`, removeFix(rel));
    if (owner !== undefined && e.uid !== undefined && e.uid !== owner && e.uid !== 0)
      throw refuse(
        t,
        rel,
        `is owned by uid ${e.uid}, not by the user diffship runs as (uid ${owner}) or root`,
        `chown ${owner} ${rel} in the target folder if you trust its content, else remove it`,
      );
    if ((e.mode & 0o022) !== 0)
      throw refuse(
        t,
        rel,
        `is group- or world-writable (mode ${(e.mode & 0o7777).toString(8).padStart(4, '0')})`,
        `chmod go-w ${rel} in the target folder if you trust its content, else remove it`,
      );
    return e;
  };
  await check(l.dir, 'dir');
  await check(l.state, 'file');
  await check(l.journal, 'file');
  await check(l.staging, 'dir');
  if ((await check(l.manifests, 'dir')) !== null)
    for (const name of (await t.readdir(l.manifests)) ?? [])
      if (isManifestFileName(name) || isEchoFileName(name)) await check(`${l.manifests}/${name}`, 'file');
  if ((await check(l.backups, 'dir')) === null) return;
  for (const name of (await t.readdir(l.backups)) ?? []) {
    if (!isBackupName(name)) continue; // not diffship's: never trusted, never touched
    const dir = l.backupFor(name);
    if ((await check(dir, 'dir')) === null) continue;
    await check(`${dir}/files`, 'dir');
    await check(l.backupListing(name), 'file');
    await check(`${dir}/previous-manifest.tsv`, 'file');
  }
}
