/**
 * Steps 2-3 of a deploy (SPEC §3): stage every new file, verify it against its blob id, back up
 * what it replaces, then journal. Before the journal nothing in the target changed.
 */
import { DiffshipError, describeError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Transport } from '../transport/transport.js';
import { SYMLINK_MODE } from '../diff/types.js';
import { GitObjects } from '../diff/git-objects.js';
import { hashAlgorithmOf } from '../diff/blob.js';
import type { TargetPlan } from '../plan/types.js';
import type { Layout } from './layout.js';
import { storedState, type TargetState } from './state.js';
import type { ApplyProgress } from './progress.js';
import { readJournal, writeJournal } from './journal.js';
import { takeBackup } from './backup.js';
import { makeStateDir } from './state-folder.js';
import { mapLimit } from '../pool.js';
import { verifiedBlob } from './verified-blob.js';
import type { Placement } from './staged-tree.js';

/** What staging needs of an open, locked session. */
export interface StageSession {
  transport: Transport;
  layout: Layout;
  deployId: string;
  /** The state as found after recovery: the backup records it for a rollback. */
  state: TargetState | null;
  /** The repository's shared object reader; without it one is opened for this deploy. */
  objects: GitObjects | null;
  concurrency: number;
  log: Logger;
}

/** Stage every new file, check it against its blob id, back up what it replaces, then journal. Returns the bytes staged. */
export async function stageAndJournal(
  s: StageSession,
  plan: TargetPlan,
  repo: string,
  createdDirs: string[],
  newState: TargetState,
  place: Placement,
  onProgress?: (p: ApplyProgress) => void,
): Promise<number> {
  const t = s.transport;
  const l = s.layout;
  // 2. Stage every new file complete inside the state folder, then check it against its blob id.
  const staging = l.stagingFor(s.deployId);
  await makeStateDir(t, l.staging);
  await makeStateDir(t, staging);
  // Folders the deploy creates are staged whole (staged-tree.ts), with the files in them.
  for (const dir of place.stagingDirs) await t.mkdirp(place.tree(dir));
  const blobs = s.objects ?? new GitObjects(repo);
  const algorithm = hashAlgorithmOf(plan.to);
  let bytes = 0;
  let done = 0;
  const total = plan.writes.length;
  // Staged files the host hashed as it wrote them (the SSH file helper, the local stream write):
  // checked at once, not read back. One byte per file, not a map of 500,000 blob ids.
  const hashedThere = new Uint8Array(total);
  try {
    // Each blob streams from git to the target in bounded chunks (diff/blob-body.ts): at most
    // `concurrency` small files and one big file's few chunks are in memory at once.
    await mapLimit(plan.writes, s.concurrency, async (w, i) => {
      const staged = place.staged(i);
      if (w.mode === SYMLINK_MODE) {
        const target = await blobs.readBlob(w.blob);
        await t.symlink(target.toString('utf8'), staged);
        bytes += target.length;
      } else {
        const body = await blobs.openBlob(w.blob);
        try {
          const source = verifiedBlob(body, w.blob, algorithm, `${t.description}: ${w.path}`);
          const mode = w.mode === '100755' ? 0o755 : 0o644;
          if (t.writeStream) {
            const id = await t.writeStream(staged, source, mode, { sync: false, hash: algorithm });
            if (typeof id === 'string') {
              if (id !== w.blob) throw verifyError(t, w, id, true);
              hashedThere[i] = 1;
            }
          } else await t.writeFile(staged, await wholeOf(source), mode, { sync: false }); // a transport of a library user's
        } finally {
          body.discard(); // read to the end already, unless the write failed: then git's later answers wait on it
        }
        bytes += body.size;
      }
      onProgress?.({ phase: 'stage', done: ++done, total, bytes });
    });
  } finally {
    if (blobs !== s.objects) blobs.close();
  }
  const unhashed: string[] = [];
  for (let i = 0; i < total; i++) if (hashedThere[i] === 0) unhashed.push(place.staged(i));
  const hashes = await t.hashFiles(unhashed, { algorithm });
  plan.writes.forEach((w, i) => {
    if (hashedThere[i] === 1) return;
    const got = hashes.get(place.staged(i));
    if (got !== w.blob) throw verifyError(t, w, got, false);
  });
  onProgress?.({ phase: 'verify', done: total, total, bytes });

  // 3. Back up everything about to be replaced or deleted, then journal: from here a crash is undone.
  const touched = [...plan.writes.map((w) => w.path), ...plan.deletes.map((d) => d.path)];
  await takeBackup(t, l, s.deployId, touched, s.state, createdDirs, s.concurrency);
  onProgress?.({ phase: 'backup', done: touched.length, total: touched.length, bytes });
  // Staged files and the backup are durable before the journal makes them count: one sync for all.
  await t.syncWritten();
  await writeJournal(t, l, {
    version: 1,
    kind: 'deploy',
    phase: 'commit',
    deployId: s.deployId,
    backupId: s.deployId,
    // Recovery only compares a deploy journal's deployId with the state's (then undoes it, or
    // drops the journal): the manifest, the state's one large part, stays out of it.
    newState: storedState({ ...newState, manifest: null, manifestFile: null }),
  });
  return bytes;
}

/** A staged copy whose blob id is not the release's: nothing was changed. */
function verifyError(
  t: Transport,
  w: { path: string; blob: string },
  got: string | null | undefined,
  hashedThere: boolean,
): DiffshipError {
  return new DiffshipError(
    'E_VERIFY',
    `${t.description}: staged copy of ${w.path} has blob ${got ?? '(missing)'}, expected ${w.blob} — ${hashedThere ? "the repository's reading (check it with git fsck), the connection or the target" : "the target's disk or connection"} corrupted it; nothing was changed`,
  );
}

/** All of a source's bytes, for a transport that only writes whole files. */
async function wholeOf(source: AsyncIterable<Buffer>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of source) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** Staging and the partial backup of a deploy that failed before its journal. */
export async function dropLeftovers(s: StageSession, cause: unknown): Promise<void> {
  const t = s.transport;
  try {
    // A journal written before the failure (its rename reported lost) makes them count: keep them.
    if ((await readJournal(t, s.layout)) !== null) return;
    await t.removeTree(s.layout.stagingFor(s.deployId));
    await t.removeTree(s.layout.backupFor(s.deployId));
  } catch (error) {
    s.log.warn(
      `${t.description}: could not remove the staging of the failed deploy (${describeError(error)}); the next run will (first error: ${describeError(cause)})`,
    );
  }
}
