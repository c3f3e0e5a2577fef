/**
 * The walk echo's file (observe/walk-echo.ts): `manifests/<manifest>.walk`, beside
 * the manifest it belongs to (named in its header by SHA-256), pruned with it.
 * Written after the state that names the manifest, not synced: an echo lost or
 * cut short by a crash is only not used (the walk is then merged as usual), and
 * an echo never makes a deploy do anything the walk does not show.
 */
import type { FileStat } from '../plan/manifest-types.js';
import type { TargetPlan } from '../plan/types.js';
import type { Transport } from '../transport/transport.js';
import type { Layout } from './layout.js';
import type { ManifestRef } from './manifest-store.js';
import { statWritten } from './manifest.js';
import { echoFileName } from './state-folder.js';
import {
  ECHO_MAX_BYTES,
  echoFolders,
  folderOf,
  parseEchoFile,
  patchedEcho,
  recordOf,
  renderRecord,
  type EchoFile,
  type EchoPatch,
  type EchoSeed,
} from '../observe/walk-echo.js';

/** The header's bytes at most (a manifest's SHA-256 and two decimals). */
const HEADER_MAX = 512;

/**
 * The echo of the manifest `ref` names, or null: none, not a plain file (never read
 * through a link), too big, another manifest's, cut short. Never an error: an echo
 * is only a shortcut.
 */
export async function readEcho(t: Transport, l: Layout, ref: ManifestRef): Promise<EchoFile | null> {
  try {
    const rel = `${l.manifests}/${echoFileName(ref.file)}`;
    const entry = await t.lstat(rel);
    if (entry?.type !== 'file' || entry.size > ECHO_MAX_BYTES + HEADER_MAX) return null;
    return parseEchoFile(await t.readFile(rel, ECHO_MAX_BYTES + HEADER_MAX), ref.sha256);
  } catch {
    return null;
  }
}

/**
 * After the state names manifest `ref`: leave the echo of the walk `seed`, when this
 * deploy only rewrote, in place, files the walk listed, and rewrote every file its merge
 * did not find in sync (walk-echo.ts says why). `written`: the stats the manifest recorded for them.
 * Returns whether it wrote one; a failure is not the deploy's (the next one merges as usual).
 */
export async function writeEcho(
  t: Transport,
  l: Layout,
  ref: ManifestRef,
  plan: Pick<TargetPlan, 'writes' | 'deletes'>,
  seed: EchoSeed,
  written: ReadonlyMap<string, FileStat>,
): Promise<boolean> {
  try {
    const patch = await echoPatch(t, plan, seed, written);
    if (patch === null) return false;
    const parts = patchedEcho(seed.records, patch.patch, patch.mtimes, ref.sha256);
    const rel = `${l.manifests}/${echoFileName(ref.file)}`;
    // Streamed from views of the walk where the transport can (a local target): no 5 MB copy.
    if (t.writeStream) {
      const size = parts.reduce((n, p) => n + p.length, 0);
      const source = {
        size,
        [Symbol.asyncIterator]: async function* () {
          yield* parts;
        },
      };
      await t.writeStream(rel, source, 0o644, { sync: false });
    } else await t.writeFile(rel, Buffer.concat(parts), 0o644, { sync: false });
    return true;
  } catch {
    return false;
  }
}

/** The written files' records and their folders' records, made anew; null where no echo can be left. */
async function echoPatch(
  t: Transport,
  plan: Pick<TargetPlan, 'writes' | 'deletes'>,
  seed: EchoSeed,
  written: ReadonlyMap<string, FileStat>,
): Promise<{ patch: EchoPatch; mtimes: string[] } | null> {
  if (plan.deletes.length > 0) return null;
  const writes = new Set(Array.from(plan.writes, (w) => w.path));
  if (seed.visited.some((p) => !writes.has(p))) return null;
  const { records } = seed;
  const folders = echoFolders(records);
  const patch: EchoPatch = { replace: [], below: seed.below };
  const mtimes: string[] = [];
  for (const path of writes) {
    const at = recordOf(records, folders, path);
    const stat = written.get(path);
    const bytes = at && stat ? renderRecord(path, stat, records.subarray(at.start, at.end)) : null;
    if (!at || !stat || !bytes) return null; // an added file (its place in find's order unknown)
    patch.replace.push({ ...at, bytes });
    mtimes.push(stat.mtimeNs);
  }
  // Their folders' mtimes moved with the renames: each one's record made from a fresh lstat.
  const parents = [...new Set([...writes].map(folderOf))].filter((d) => d !== '');
  const stats = await statWritten(t, parents, 16);
  for (const dir of parents) {
    const start = folders.get(dir);
    const stat = stats.get(dir);
    if (start === undefined || !stat) return null;
    const end = records.indexOf(0, start) + 1;
    const bytes = renderRecord(dir, stat, records.subarray(start, end));
    if (!bytes) return null;
    patch.replace.push({ start, end, bytes });
  }
  return { patch, mtimes };
}
