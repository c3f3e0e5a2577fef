/**
 * A unit folder's copy built in staging from what is live there (`reveal: unit` on a deploy,
 * and a unit's swap-back on a rollback): its folders, its links, its files hard-linked (copied
 * where no link can be made). A pass at a time over the whole unit: over SSH a round trip a
 * pass, where entry after entry cost one to three round trips a file.
 */
import type { Transport, WalkEntry } from '../transport/transport.js';
import { forEachLimit, mapLimit } from '../pool.js';
import { copyOnTarget } from './target-copy.js';
import { deepestFolders } from './safe-path.js';
import { metadataConcurrency } from './in-flight.js';

/**
 * `entries` (a walk of the live unit, already filtered) put at `into(path)`; `folders` (paths
 * in the built copy) are made too, for the files the caller puts there next.
 */
export async function linkLiveInto(
  t: Transport,
  entries: readonly WalkEntry[],
  into: (path: string) => string,
  folders: readonly string[],
  concurrency: number,
): Promise<void> {
  const lanes = metadataConcurrency(t, concurrency);
  const dirs = entries.filter((e) => e.type === 'dir').map((e) => into(e.path));
  // The deepest only: mkdir -p of one makes those above it.
  await forEachLimit(deepestFolders([...dirs, ...folders]), lanes, (d) => t.mkdirp(d));
  const links = entries.filter((e) => e.type === 'symlink');
  const texts = await mapLimit(links, lanes, (e) => t.readlink(e.path));
  await forEachLimit(links, lanes, (e, i) => t.symlink(texts[i]!, into(e.path)));
  const files = entries.filter((e) => e.type !== 'dir' && e.type !== 'symlink');
  const linked = await mapLimit(files, lanes, (e) => t.link(e.path, into(e.path)));
  // Copies where no link could be made: over SSH on the host (the file helper), or through here
  // within the transport's own limit on open files; locally the lanes are the session's.
  const copies = files.filter((_, i) => !linked[i]);
  await forEachLimit(copies, lanes, (e) => copyOnTarget(t, e.path, into(e.path), e.mode & 0o7777));
}
