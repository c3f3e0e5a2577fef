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
import type { TargetPlan, WriteOp } from '../plan/types.js';
import { indexReader } from '../diff/listing-view.js';
import { readBlobBatches, type BlobBatchOptions } from '../diff/blob-batches.js';
import { CheckoutFiles, worktreeTop, type ReadInto } from '../diff/checkout-files.js';
import { join } from 'node:path';
import { checkCancelled } from '../cancelled.js';
import type { Placement } from './staged-tree.js';
import { BitSet } from '../bit-set.js';

/** Below this many files the one-by-one path's start is cheaper than a second git process. */
const BULK_MIN = 64;
/**
 * A local target's batches start its writer thread, a second V8 isolate (~14 MiB of RSS, ~50 ms):
 * below this many files the one-by-one path is both faster and smaller (a 2,000-file first deploy
 * 820 → 690 ms and 92 → 80 MiB; at 5,000 files the thread wins, 1,090 → 980 ms).
 */
export const LOCAL_BULK_MIN = 3000;

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
  /** The release's source folder (`` or `dir/`): in the repository's checkout, tried before git (diff/checkout-files.ts). */
  source: string;
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
  { repo, source, algorithm, place, signal }: BulkStaging,
  settled: (i: number, id: string, bytes: number) => void,
): Promise<number[] | null> {
  const writeMany = t.writeMany?.bind(t);
  if (!writeMany) return null;
  let count = 0;
  for (const w of plan.writes) if (w.mode !== SYMLINK_MODE) count++;
  if (count < (t.kind === 'local' ? LOCAL_BULK_MIN : BULK_MIN)) return null;
  // Not for a local target: its writer thread is the critical path and git runs on another core,
  // so reads on this thread only compete (a 50,000-file first deploy from a checkout: +8%).
  const top = t.kind === 'local' ? null : await worktreeTop(repo);
  const checkout = top === null ? null : new CheckoutFiles(join(top, source), OPTIONS.maxBlob, algorithm);
  const files = count === plan.writes.length ? everyIndex(count) : indicesOf(plan.writes, count);
  // Writes by index without a key string (a listing's: diff/listing-view.ts).
  const write = indexReader(plan.writes);
  const written = new BitSet(plan.writes.length);
  const options = t.kind === 'local' ? LOCAL : OPTIONS;
  // The transport cannot (no file helper on this host): everything goes one by one.
  const cannot = new Error('no bulk write');
  // One batch to the transport: `at` are indices in plan.writes, `bodies` their bytes.
  const send = async (at: readonly number[], bodies: readonly Buffer[]): Promise<void> => {
    checkCancelled(signal, 'staging');
    const batch = at.map((i, j) => ({
      rel: place.staged(i),
      mode: write(i).mode === '100755' ? 0o755 : 0o644,
      data: bodies[j]!,
    }));
    const ids = await writeMany(batch, algorithm);
    if (ids === null) throw cannot;
    at.forEach((i, j) => {
      settled(i, ids[j]!, bodies[j]!.length);
      written.set(i);
    });
  };
  try {
    const fromGit = checkout ? await stageFromCheckout(checkout, write, files, options, send) : files;
    if (fromGit.length > 0)
      await readBlobBatches(
        repo,
        { length: fromGit.length, at: (k) => write(fromGit.at(k)).blob },
        options,
        (indices, bodies) =>
          send(
            indices.map((k) => fromGit.at(k)),
            bodies,
          ),
      );
  } catch (error) {
    if (error !== cannot) throw error;
  }
  const left: number[] = [];
  for (let i = 0; i < written.size; i++) if (!written.has(i)) left.push(i);
  return left;
}

/** Indices into plan.writes, by position. */
interface Indices {
  readonly length: number;
  at(k: number): number;
}

/** 0 … count - 1, held as nothing (every write is a file: a first deploy's 1,000,000 were 4 MB). */
const everyIndex = (count: number): Indices => ({ length: count, at: (k) => k });

/** The indices of the writes that are files, in a typed array (not an array grown by pushes). */
function indicesOf(writes: Iterable<WriteOp>, count: number): Indices {
  const files = new Uint32Array(count);
  let k = 0;
  let i = 0;
  for (const w of writes) {
    if (w.mode !== SYMLINK_MODE) files[k++] = i;
    i++;
  }
  return typedIndices(files);
}

const typedIndices = (files: Uint32Array): Indices => ({ length: files.length, at: (k) => files[k]! });

/**
 * The files the checkout holds, sent in batches as git's would be (at most `inFlight` unsettled);
 * returns the indices (in plan.writes) left for git, in order.
 */
async function stageFromCheckout(
  checkout: CheckoutFiles,
  write: (i: number) => WriteOp,
  files: Indices,
  options: BlobBatchOptions,
  send: (at: readonly number[], bodies: readonly Buffer[]) => Promise<void>,
): Promise<Indices> {
  const fromGit: number[] = [];
  const pending = new Set<Promise<void>>();
  let failure: { error: unknown } | null = null;
  let at: number[] = [];
  let bodies: Buffer[] = [];
  let bytes = 0;
  // A batch's files are read back to back into one buffer (sent as one piece, never copied on
  // this side: outbox-chunks.ts), used again once the host has answered for them (it has had
  // every byte by then). A buffer per file, held until the answer, outlived the young generation:
  // ~50 MB of them waited for a full collection, and malloc kept their pages.
  const free: Buffer[] = [];
  const slab = (): ReadInto => ({
    buffer: free.pop() ?? Buffer.allocUnsafe(options.batchBytes + options.maxBlob),
    at: 0,
  });
  let into = slab();
  const flush = (): void => {
    const buffer = into.buffer;
    const p = send(at, bodies).then(
      () => void free.push(buffer),
      (error: unknown) => void (failure ??= { error }),
    );
    pending.add(p);
    void p.then(() => pending.delete(p));
    at = [];
    bodies = [];
    bytes = 0;
    into = slab();
  };
  let k = 0;
  for (; k < files.length && failure === null && checkout.promising; k++) {
    const i = files.at(k);
    const w = write(i);
    const body = checkout.read(w.path, w.blob, into);
    if (body === null) {
      fromGit.push(i);
      continue;
    }
    at.push(i);
    bodies.push(body);
    bytes += body.length;
    if (at.length >= options.batchCount || bytes >= options.batchBytes) {
      flush();
      while (pending.size >= options.inFlight) await Promise.race(pending);
    }
  }
  if (at.length > 0 && failure === null) flush();
  await Promise.all(pending);
  if (failure !== null) throw (failure as { error: unknown }).error;
  // Those missed, then those not tried (a checkout given up on).
  const rest = new Uint32Array(fromGit.length + files.length - k);
  rest.set(fromGit);
  for (let j = fromGit.length; k < files.length;) rest[j++] = files.at(k++);
  return typedIndices(rest);
}
