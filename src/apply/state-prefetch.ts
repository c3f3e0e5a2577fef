/**
 * Before a deploy plans, it reads its state folder path by path: every folder
 * and file checked (state-folder.ts), the journal, the state, the lock. Over
 * SSH each of those calls is a round trip (a file read four), about forty in
 * a row on a target with a few backups. Asked up front with Transport.peek,
 * they cost two: the state folder with its files and listings, then what the
 * listings named (and the manifest file the state names). A deploy asks the
 * first together with taking its lock (lock.ts). The reads that follow are
 * served from the answers and check them exactly as before; a transport that
 * cannot peek reads as it always did.
 */
import type { Peeked, Transport } from '../transport/transport.js';
import type { Layout } from './layout.js';
import { parentsOf } from './safe-path.js';
import { isBackupName, isManifestFileName } from './state-folder.js';
import { manifestHeld } from './manifest-store.js';

/**
 * What the last look at a target's state folder found one level down (its manifest files and
 * backups' paths), by target and state folder: a deploy after its preflight, in this process,
 * asks for them with its first look, and needs no second one while they are what it finds. Only
 * a hint: what the first look lists decides what is read, and anything it did not answer is
 * asked for as before.
 */
const lastSecond = new Map<string, readonly string[]>();
const hintKey = (t: Transport, l: Layout) => `${t.description}\0${l.dir}`;

/**
 * The first look: the state folder, its files and listings (the state folder's own, for the
 * lock's temporaries); with `t`, also the paths one level down that its last look found.
 */
export function firstPeek(l: Layout, t?: Transport): { paths: string[]; reads: string[] } {
  const listed = [l.manifests, l.backups, l.staging];
  const hinted = t ? (lastSecond.get(hintKey(t, l)) ?? []) : [];
  return {
    paths: [...parentsOf(l.dir), l.dir, l.state, l.journal, l.lock, ...listed, ...hinted],
    reads: [l.dir, l.state, l.journal, l.lock, ...listed],
  };
}

/**
 * The first look behind the lock, and the caller's paths after it (state folder first: it is cut
 * at the peek's limit). The target's root among them ('') is listed too (kept-plans.ts `take`).
 */
export function withLookAhead(
  look: { paths: string[]; reads: string[] },
  more: readonly string[] | undefined,
): { paths: string[]; reads: string[] } {
  if (!more?.length) return look;
  return { paths: [...look.paths, ...more], reads: more.includes('') ? [...look.reads, ''] : look.reads };
}

/**
 * Look ahead at the state folder (checkStateFolder, recovery and readState read all of it next).
 * `first`: what the first look saw already (taken with the lock), if it was answered.
 * `manifest`: read the manifest file the state names too (preflight and plan do); `unless-held`:
 * unless this process holds its bytes already (a deploy after preflight finds it in the cache of
 * manifest-store.ts, and would read it twice; one without preflight would wait once more for it).
 * Resolves to what both looks saw (the lock's clean-up census, state-census.ts), null if unanswered.
 */
export async function prefetchStateFolder(
  t: Transport,
  l: Layout,
  o: { first?: ReadonlyMap<string, Peeked> | null; manifest?: boolean | 'unless-held' } = {},
): Promise<ReadonlyMap<string, Peeked> | null> {
  if (!t.peek) return null;
  const look = firstPeek(l, t);
  const seen = o.first ?? (await t.peek(look.paths, look.reads));
  if (!seen) return null;
  const names = (rel: string) => seen.get(rel)?.names ?? [];
  const manifests = names(l.manifests)
    .filter(isManifestFileName)
    .map((name) => `${l.manifests}/${name}`);
  const second = [
    ...manifests,
    ...names(l.backups)
      .filter(isBackupName)
      .flatMap((name) => {
        const dir = l.backupFor(name);
        return [dir, `${dir}/files`, l.backupListing(name), `${dir}/previous-manifest.tsv`];
      }),
  ];
  lastSecond.set(hintKey(t, l), second);
  const ref = o.manifest ? namedManifest(seen.get(l.state)?.data, l) : null;
  const named = ref && (o.manifest === true || !manifestHeld(t, ref.path, ref.sha256)) ? ref.path : null;
  const read = named && manifests.includes(named) && seen.get(named)?.data === undefined ? [named] : [];
  // What the first look answered already (asked for on a hint) is not asked for again.
  const unseen = second.filter((p) => !seen.has(p));
  // The manifest is a file: read raw where the transport can, not in the peek's hex.
  if (unseen.length === 0 && read.length === 0) return seen;
  const more = await t.peek([...new Set([...unseen, ...read])], read, read);
  return more ? new Map([...seen, ...more]) : seen;
}

/**
 * The manifest file the state names (readState reads it next: over SFTP a file of a few
 * hundred KiB is a dozen round trips), if the state's bytes say so; only a hint, checked
 * as ever when it is read.
 */
function namedManifest(state: Buffer | undefined, l: Layout): { path: string; sha256: string } | null {
  if (!state) return null;
  try {
    const ref = (
      JSON.parse(state.toString('utf8')) as { manifestFile?: { file?: unknown; sha256?: unknown } } | null
    )?.manifestFile;
    const { file, sha256 } = ref ?? {};
    if (typeof file !== 'string' || !isManifestFileName(file)) return null;
    return { path: `${l.manifests}/${file}`, sha256: typeof sha256 === 'string' ? sha256 : '' };
  } catch {
    return null;
  }
}
