/**
 * A full garbage collection when V8's old space has grown well past what was
 * live at the last one, while a deploy makes per-file garbage (the staging,
 * commit and manifest of 500,000 files).
 *
 * Why: each staged file leaves promises, streams and buffers' wrappers that
 * live across a few I/O turns, so they survive the young generation and are
 * promoted. V8 lets old space grow to up to 4× the live heap before it marks
 * it again, and that growth, not the live data, was most of a first deploy's
 * peak RSS (a 500,000-file deploy: ~165 MB live, 528 MB used before the first
 * full collection). A heap cap can't be set once Node runs and would make a
 * deploy of a few million files die; pacing keeps the heap within
 * `GROWTH` × live + `SLACK` at any size, and costs a collection each time the
 * heap grows by that much (a constant count per deploy, each linear in the
 * live heap). 1.25 rather than 1.5: at 500,000 files the commit and manifest
 * phases promote ~25 MB/s, and the slack over ~110 MB live was the peak.
 *
 * Without a way to collect (a host that refuses the flag), it stops looking.
 */
import v8 from 'node:v8';
import vm from 'node:vm';
import type { Worker } from 'node:worker_threads';

/** Old space allowed over the last live size, as a factor and a fixed slack. */
const GROWTH = 1.25;
const SLACK = 8 * 2 ** 20;
/**
 * Buffers' bytes allowed over what was there after the last full collection. 4 MiB rather
 * than 16: a first deploy's batches (git's reads, the writer's batches, the manifest's chunks)
 * piled up to 16 MiB of dead buffers between looks, and the memory they took stays in the
 * process's RSS (a 500,000-file first deploy on Node 24: peak 160 MiB at the median of 5
 * against 165 with 16, ~162 with 8; one 200 MiB file over SSH ~1.15× scp either way).
 */
const EXTERNAL_SLACK = 4 * 2 ** 20;
/** Between looks at the heap (a look costs a few microseconds). */
export const INTERVAL_MS = 100;

export type Collect = (options?: { type: 'minor' | 'major' }) => void;
let collect: Collect | null | undefined;

/** The full collection: `global.gc` when Node was started with --expose-gc, else the flag set now. */
function collector(): Collect | null {
  if (collect !== undefined) return collect;
  try {
    const exposed = (globalThis as { gc?: unknown }).gc;
    if (typeof exposed === 'function') collect = exposed as Collect;
    else {
      // Takes effect for contexts made after it: the one made here exposes `gc`.
      v8.setFlagsFromString('--expose-gc');
      const gc: unknown = vm.runInNewContext('gc');
      collect = typeof gc === 'function' ? (gc as Collect) : null;
    }
  } catch {
    collect = null;
  }
  return collect;
}

/** Bytes used in old space and by large objects: what promotion grows (the young generation is swept anyway). */
function oldUsed(): number {
  let used = 0;
  for (const s of v8.getHeapSpaceStatistics())
    if (s.space_name === 'old_space' || s.space_name === 'large_object_space') used += s.space_used_size;
  return used;
}

/**
 * Memory outside the heap (buffers' bytes), which a promoted Buffer holds until a full
 * collection: a backup listing's or a manifest's written chunks piled up ~50 MB there at
 * 500,000 files while old space stayed under its bound. Bounded apart, by a fixed slack:
 * what is live there (a stat table) is not a reason to let more pile up. Node's count of
 * buffers' bytes, not V8's `external_memory`: that one is brought up to date only at a later
 * collection, so it still counts what a young-generation collection just freed.
 */
const externalUsed = (): number => process.memoryUsage().arrayBuffers;

/**
 * The young generation stays at its starting size (1 MiB a semi-space) instead of
 * growing to 16 MiB a semi-space (32 MiB committed for the whole run): a deploy's
 * per-file garbage dies within a few I/O turns either way. Best effort: a V8
 * without the flag keeps its default.
 */
function keepYoungGenerationSmall(): void {
  try {
    v8.setFlagsFromString('--semi-space-growth-factor=1');
  } catch {
    // an unknown flag: the default sizing stays
  }
}

/**
 * The flag again once each worker thread is up. Node 20's V8 raises the growth factor back to
 * 2 when an isolate starts (Heap::ConfigureHeap; Node 24's leaves it), and flags are the
 * process's: the local writer thread (transport/local/writer-thread.ts) undid it for the main
 * thread too, whose young generation then grew to 16 MiB a semi-space after all (a 500,000-file
 * first deploy on Node 20: ~170 MiB peak RSS, ~145 with the flag set again). 'online' comes
 * once the worker's isolate has started. Not at each of the pacer's looks as well: that cost
 * the same deploy 4-5 s and ~10 MiB (V8 does more than store a flag).
 */
function keepYoungGenerationSmallAfterWorkers(): () => void {
  const again = (worker: Worker): void => {
    worker.once('online', keepYoungGenerationSmall);
  };
  process.on('worker', again);
  return () => process.off('worker', again);
}

/**
 * One collection: `gc()` for a full one. Not `gc(undefined)`: V8 (Node 24) reads an argument
 * that is not an options object as asking for a young-generation collection, so every full
 * collection the pacer asked for was a young one, and old space grew unpaced (a first deploy of
 * 500,000 files: ~100 MB of stat garbage promoted while its manifest was written).
 */
export function collectWith(gc: Collect, options?: { type: 'minor' | 'major' }): void {
  if (options === undefined) gc();
  else gc(options);
}

/** What a look at the heap reads: bytes used in old space and by buffers outside it. */
export interface HeapLook {
  oldUsed(): number;
  externalUsed(): number;
}

const processHeap: HeapLook = { oldUsed, externalUsed };

/** What one look did. */
export type Paced = 'none' | 'young' | 'full';

/**
 * One look's decision, against the sizes after the last full collection. Outside memory
 * alone over its bound is mostly young buffers (a big file sent makes ~3 per chunk): a
 * young-generation collection (~1 ms) frees them, and the full one (a mark of the whole
 * heap, tens of ms plus a worker thread's marking, each few looks while a 200 MiB file
 * streams) runs only when the next look still finds it over (a young collection's buffers
 * are counted as freed once its sweep, on another thread, is done: not at once).
 */
export function pacer(heap: HeapLook, gc: Collect): () => Paced {
  let live = heap.oldUsed();
  let external = heap.externalUsed();
  let triedYoung = false;
  return () => {
    const oldOver = heap.oldUsed() >= live * GROWTH + SLACK;
    if (!oldOver && heap.externalUsed() < external + EXTERNAL_SLACK) {
      triedYoung = false;
      return 'none';
    }
    if (!oldOver && !triedYoung) {
      triedYoung = true;
      gc({ type: 'minor' });
      return 'young';
    }
    triedYoung = false;
    gc();
    live = heap.oldUsed();
    external = heap.externalUsed();
    return 'full';
  };
}

/**
 * V8 starts an incremental marking (a full collection) once the old space's room left, limit
 * minus size, is below the young generation's capacity (up to 16 MiB). At a small live heap
 * (~18 MB during a 20,000-file SSH first deploy, limit ~30 MB) that room is always below it, so
 * marking ran back to back: 20-27 full collections, 1.8-2.0 s of GC time under load, each
 * freeing the 2-3 MB promoted since the last. With percent triggers V8 starts marking at 90% of
 * the limit (its task) or 95% (at once) instead: 5 full collections. Old space still stays
 * within V8's limit, and the pacer above still bounds it. Best effort, as above.
 */
function markNearTheLimit(): void {
  try {
    v8.setFlagsFromString('--incremental-marking-soft-trigger=90');
    v8.setFlagsFromString('--incremental-marking-hard-trigger=95');
  } catch {
    // unknown flags: V8's own trigger stays
  }
}

/**
 * Look at the heap every INTERVAL_MS while a command runs (any loop: listing,
 * staging, commit, manifest), and collect when old space grew past the bound.
 * Returns the stop. Only the CLI and the Action start it: a library user's
 * process keeps its own garbage collection.
 */
export function paceGarbage(): () => void {
  keepYoungGenerationSmall();
  const stopWatchingWorkers = keepYoungGenerationSmallAfterWorkers();
  markNearTheLimit();
  // `gc` is fetched at the first collection (most commands never need one); none: stop looking.
  const lazy: Collect = (options) => {
    const gc = collector();
    if (gc === null) clearInterval(timer);
    else collectWith(gc, options);
  };
  const timer = setInterval(pacer(processHeap, lazy), INTERVAL_MS);
  timer.unref();
  return () => {
    clearInterval(timer);
    stopWatchingWorkers();
  };
}
