/**
 * The small files of a big staging, in batches (Transport.writeMany: the SSH
 * file helper's bulk write, one record per few hundred files): their bytes
 * cut out of one `git cat-file --batch` of their own (diff/blob-batches.ts),
 * each batch written and hashed on the host, every blob id checked here as
 * stage-writes.ts checks one. What it leaves (links, big or odd blobs, or all
 * of them where the transport cannot) stage-writes.ts writes one by one.
 */
import type { Transport } from '../transport/transport.js';
import { SYMLINK_MODE } from '../diff/types.js';
import type { HashAlgorithm } from '../diff/blob.js';
import type { TargetPlan } from '../plan/types.js';
import { readBlobBatches } from '../diff/blob-batches.js';
import { checkCancelled } from '../cancelled.js';
import type { Placement } from './staged-tree.js';

/** Below this many files the one-by-one path's start is cheaper than a second git process. */
const BULK_MIN = 64;

const OPTIONS = {
  // A bigger file streams through the transport on its own (never whole in memory).
  maxBlob: 256 * 1024,
  batchBytes: 512 * 1024,
  batchCount: 512,
  // Enough to keep the host busy while answers come back; bounded memory (~2 MiB).
  inFlight: 4,
};
/**
 * A local target's writer thread (transport/local/writer-thread.ts) answers once the disk took
 * the files, with no round trip: one batch written while the next is made is enough, and smaller
 * batches that wait less are not promoted to the old generation (a big first deploy's peak
 * memory: test/apply/first-deploy-memory.test.ts).
 */
const LOCAL = { ...OPTIONS, batchCount: 128, inFlight: 2 };

export interface BulkStaging {
  repo: string;
  algorithm: HashAlgorithm;
  place: Placement;
  signal?: AbortSignal;
}

/**
 * Stage what can go in batches; calls `settled(i, id, bytes)` for each file written (which checks
 * the id and counts it). Returns the indices of plan.writes left to write one by one, or null for
 * all of them (nothing tried: too few files, or no writeMany).
 */
export async function stageInBulk(
  t: Transport,
  plan: TargetPlan,
  { repo, algorithm, place, signal }: BulkStaging,
  settled: (i: number, id: string, bytes: number) => void,
): Promise<number[] | null> {
  const writeMany = t.writeMany?.bind(t);
  if (!writeMany) return null;
  // The writes' indices in a typed array, counted first (not a 500,000-element array grown by pushes).
  let count = 0;
  for (const w of plan.writes) if (w.mode !== SYMLINK_MODE) count++;
  if (count < BULK_MIN) return null;
  const files = new Uint32Array(count);
  count = 0;
  plan.writes.forEach((w, i) => {
    if (w.mode !== SYMLINK_MODE) files[count++] = i;
  });
  const written = new Uint8Array(plan.writes.length);
  // The transport cannot (no file helper on this host): everything goes one by one.
  const cannot = new Error('no bulk write');
  try {
    await readBlobBatches(
      repo,
      { length: files.length, at: (k) => plan.writes[files[k]!]!.blob },
      t.kind === 'local' ? LOCAL : OPTIONS,
      async (indices, bodies) => {
        checkCancelled(signal, 'staging');
        const batch = indices.map((k, j) => {
          const w = plan.writes[files[k]!]!;
          return {
            rel: place.staged(files[k]!),
            mode: w.mode === '100755' ? 0o755 : 0o644,
            data: bodies[j]!,
          };
        });
        const ids = await writeMany(batch, algorithm);
        if (ids === null) throw cannot;
        indices.forEach((k, j) => {
          settled(files[k]!, ids[j]!, bodies[j]!.length);
          written[files[k]!] = 1;
        });
      },
    );
  } catch (error) {
    if (error !== cannot) throw error;
  }
  const left: number[] = [];
  for (let i = 0; i < written.length; i++) if (written[i] !== 1) left.push(i);
  return left;
}
