/**
 * Step 2 of a deploy, the writes: every new file of the plan goes to its
 * staged path, its bytes streamed from git (diff/blob-body.ts) and hashed on
 * the way or by the host as it writes them (verified-blob.ts).
 *
 * A write that the transport has taken and only waits to hear back about
 * (WriteOptions.onQueued: the SSH file helper's record is on the channel)
 * frees its slot of the pool at once: the next files go out without waiting a
 * round trip each, and what is in flight is bounded by the channel's room, not
 * by a count of answers. Every such answer is settled before this returns or
 * throws, so a caller cleaning up after a failure never races a write.
 */
import type { Transport } from '../transport/transport.js';
import { SYMLINK_MODE } from '../diff/types.js';
import type { GitObjects } from '../diff/git-objects.js';
import type { HashAlgorithm } from '../diff/blob.js';
import type { TargetPlan } from '../plan/types.js';
import type { ApplyProgress } from './progress.js';
import { forEachLimit } from '../pool.js';
import { verifiedBlob } from './verified-blob.js';
import type { Placement } from './staged-tree.js';
import { DiffshipError } from '../errors.js';
import { checkCancelled } from '../cancelled.js';
import { stageInBulk } from './stage-bulk.js';
import { normalizeSource } from '../diff/ref.js';
import { indexReader } from '../diff/listing-view.js';
import { BitSet } from '../bit-set.js';

export interface StagedWrites {
  bytes: number;
  /**
   * Set for each staged file the host hashed as it wrote it (the SSH file helper, the local stream
   * write), already checked against the release: not read back. A bit per file, not a map of
   * 500,000 blob ids.
   */
  hashedThere: BitSet;
}

export async function stageWrites(
  t: Transport,
  plan: TargetPlan,
  blobs: GitObjects,
  algorithm: HashAlgorithm,
  place: Placement,
  concurrency: number,
  onProgress?: (p: ApplyProgress) => void,
  /** Cancelled: no further file starts (those in flight settle first). */
  signal?: AbortSignal,
): Promise<StagedWrites> {
  const total = plan.writes.length;
  const out: StagedWrites = { bytes: 0, hashedThere: new BitSet(total) };
  let done = 0;
  // Answers still to come (kept only while pending: 500,000 settled promises are not held).
  const answers = new Set<Promise<void>>();
  let failed: { error: unknown } | null = null;
  // Writes by index without a key string (a listing's: diff/listing-view.ts).
  const write = indexReader(plan.writes);
  const settled = (i: number) => (id: unknown) => {
    if (typeof id === 'string') {
      // Checked at once: a bad write fails the staging, not a pass after it.
      const w = write(i);
      if (id !== w.blob) throw verifyError(t, w, id, true);
      out.hashedThere.set(i);
    }
    onProgress?.({ phase: 'stage', done: ++done, total, bytes: out.bytes });
  };
  // Many small files first go in batches (stage-bulk.ts); what that leaves goes one by one.
  // The release's source folder, in the repository's checkout: tried first for each file.
  const source = normalizeSource(plan.selection?.source).prefix;
  const bulk = { repo: blobs.repo, source, algorithm, place, signal };
  const left = await stageInBulk(t, plan, bulk, (i, id, bytes) => {
    out.bytes += bytes;
    settled(i)(id);
  });
  try {
    // At most `concurrency` small files and one big file's few chunks are in memory at once.
    const items: readonly unknown[] = left ?? plan.writes;
    await forEachLimit(items, concurrency, async (_, at) => {
      const i = left ? left[at]! : at;
      const w = write(i);
      if (failed) throw failed.error;
      checkCancelled(signal, 'staging');
      const staged = place.staged(i);
      if (w.mode === SYMLINK_MODE) {
        const target = await blobs.readBlob(w.blob);
        await t.symlink(target.toString('utf8'), staged);
        out.bytes += target.length;
        return settled(i)(undefined);
      }
      const body = await blobs.openBlob(w.blob);
      try {
        const source = verifiedBlob(body, w.blob, algorithm, `${t.description}: ${w.path}`);
        const mode = w.mode === '100755' ? 0o755 : 0o644;
        out.bytes += body.size;
        if (!t.writeStream) {
          // A transport of a library user's that only writes whole files.
          await t.writeFile(staged, await wholeOf(source), mode, { sync: false });
          return settled(i)(undefined);
        }
        let onQueued!: () => void;
        const queued = new Promise<void>((resolve) => (onQueued = resolve));
        const answer = t.writeStream(staged, source, mode, { sync: false, hash: algorithm, onQueued });
        const written = answer.then(settled(i));
        const pending = written.then(
          () => void answers.delete(pending),
          (error: unknown) => {
            failed ??= { error };
            answers.delete(pending);
          },
        );
        answers.add(pending);
        await Promise.race([written, queued]);
      } finally {
        body.discard(); // read to the end already, unless the write failed: then git's later answers wait on it
      }
    });
  } finally {
    await Promise.all(answers);
  }
  if (failed) throw (failed as { error: unknown }).error;
  return out;
}

/** A staged copy whose blob id is not the release's: nothing was changed. */
export function verifyError(
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
