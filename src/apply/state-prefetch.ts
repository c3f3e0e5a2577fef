/**
 * Before a deploy plans, it reads its state folder path by path: every folder
 * and file checked (state-folder.ts), the journal, the state, the lock. Over
 * SSH each of those calls is a round trip (a file read four), about forty in
 * a row on a target with a few backups. Asked up front with Transport.peek,
 * they cost two: the state folder with its files and listings, then what the
 * listings named. The reads that follow are served from the answers and check
 * them exactly as before; a transport that cannot peek reads as it always did.
 */
import type { Transport } from '../transport/transport.js';
import type { Layout } from './layout.js';
import { parentsOf } from './safe-path.js';
import { isBackupName, isManifestFileName } from './state-folder.js';

/** Look ahead at the state folder (checkStateFolder, recovery and readState read all of it next). */
export async function prefetchStateFolder(t: Transport, l: Layout): Promise<void> {
  if (!t.peek) return;
  const listed = [l.manifests, l.backups, l.staging];
  const first = await t.peek(
    [...parentsOf(l.dir), l.dir, l.state, l.journal, l.lock, ...listed],
    [l.state, l.journal, l.lock, ...listed],
  );
  if (!first) return;
  const names = (rel: string) => first.get(rel)?.names ?? [];
  const second = [
    ...names(l.manifests)
      .filter(isManifestFileName)
      .map((name) => `${l.manifests}/${name}`),
    ...names(l.backups)
      .filter(isBackupName)
      .flatMap((name) => {
        const dir = l.backupFor(name);
        return [dir, `${dir}/files`, `${dir}/manifest.json`, `${dir}/previous-manifest.tsv`];
      }),
  ];
  if (second.length > 0) await t.peek(second, []);
}
