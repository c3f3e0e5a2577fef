/**
 * A big file's stream, with a young-generation collection every few MiB.
 *
 * Streaming a file over SSH makes ~3 short-lived buffers per chunk sent (git's
 * read, ssh2's packet, the cipher's output): 600 MiB for a 200 MiB file. Their
 * memory is outside the JS heap and is freed only when the small objects that
 * hold them are collected. Those objects are few, so the young generation
 * (8 MiB and more on Node 24) rarely fills, and the buffers pile up until
 * V8's limit for outside memory forces full collections (~20 for 200 MiB).
 * A young-generation collection (a scavenge) frees them for ~0.1–1 ms: one
 * every COLLECT_EVERY bytes keeps the pile small.
 *
 * `--max-semi-space-size=1` at start-up does the same (V8 then scavenges
 * often) but cannot be set from inside the process, and it holds every other
 * workload to a small young generation too; V8's `gc` function can be had at
 * run time (`--expose-gc`, read when a context is made) without exposing it
 * to the program's own global.
 */
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import type { ByteSource } from './transport.js';

/** Source bytes between two collections (each makes ~3× as much outside garbage). */
export const COLLECT_EVERY = 4 * 1024 * 1024;

type Gc = (options: { type: 'minor' | 'major'; execution?: 'sync' | 'async' }) => void;
let gcFunction: Gc | null | undefined;

/** V8's `gc`, fetched once from a fresh context; null where it cannot be had. */
function gc(): Gc | null {
  if (gcFunction !== undefined) return gcFunction;
  // Started with --expose-gc: use it, and leave the flag as the user set it.
  const own = (globalThis as { gc?: unknown }).gc;
  if (typeof own === 'function') return (gcFunction = own as Gc);
  try {
    v8.setFlagsFromString('--expose-gc');
    gcFunction = vm.runInNewContext('gc') as Gc;
    if (typeof gcFunction !== 'function') gcFunction = null;
  } catch {
    gcFunction = null;
  } finally {
    // Contexts made later (a user's vm code, when diffship runs as a library) stay as they were.
    v8.setFlagsFromString('--no-expose-gc');
  }
  return gcFunction;
}

/**
 * A count of the bytes a big transfer moved, with a young-generation collection every
 * `every` of them (the same pile-up, receiving: ssh2's packets and the cipher's output
 * for a file read from a host, helper-spool.ts). Does nothing where `gc` cannot be had.
 */
export function youngCollector(every = COLLECT_EVERY): (bytes: number) => void {
  const collect = gc();
  let since = 0;
  return (bytes) => {
    if (!collect || (since += bytes) < every) return;
    since = 0;
    collect({ type: 'minor' });
  };
}

/** `source`, collecting the young generation every COLLECT_EVERY bytes it hands out; small sources as they are. */
export function collectingAsItStreams(source: ByteSource): ByteSource {
  if (source.size < 2 * COLLECT_EVERY || !gc()) return source;
  return {
    size: source.size,
    reused: source.reused,
    hashedByWriter: source.hashedByWriter?.bind(source),
    async *[Symbol.asyncIterator]() {
      const counted = youngCollector();
      for await (const chunk of source) {
        counted(chunk.length);
        yield chunk;
      }
    },
  };
}
