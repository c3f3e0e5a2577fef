/**
 * gc-pacer.ts's looks: memory outside the heap over its bound gets a
 * young-generation collection first (a big file's stream makes buffers that
 * die young), and the full one only when that did not bring it under; old
 * space over its bound gets the full one at once. The real collector: a
 * buffer that died young is no longer counted by the next look after a young collection.
 */
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import { expect, it } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Collect, collectWith, type HeapLook, INTERVAL_MS, pacer } from '../../src/gc-pacer.js';

const MIB = 2 ** 20;

/** A heap whose sizes the test sets, and the collections asked of it (each may free what `frees` says). */
function fakeHeap(frees: { young: number; full: number }) {
  const heap = { old: 10 * MIB, external: 2 * MIB };
  const asked: string[] = [];
  const look: HeapLook = { oldUsed: () => heap.old, externalUsed: () => heap.external };
  const gc: Collect = (options) => {
    const kind = options?.type === 'minor' ? 'young' : 'full';
    asked.push(kind);
    heap.external = Math.max(0, heap.external - frees[kind]);
  };
  return { heap, asked, tick: pacer(look, gc) };
}

it('frees outside memory that died young with a young collection, no full one', () => {
  const { heap, asked, tick } = fakeHeap({ young: 30 * MIB, full: 30 * MIB });
  expect(tick()).toBe('none');
  heap.external += 30 * MIB; // a stream's buffers since the last look
  expect(tick()).toBe('young');
  expect(tick()).toBe('none'); // their bytes counted as freed by the next look
  heap.external += 30 * MIB;
  expect(tick()).toBe('young');
  expect(tick()).toBe('none');
  expect(asked).toEqual(['young', 'young']);
});

it('runs the full collection when a young one leaves outside memory over its bound', () => {
  const { heap, asked, tick } = fakeHeap({ young: 0, full: 30 * MIB });
  heap.external += 30 * MIB; // promoted buffers: only a full collection frees them
  expect(tick()).toBe('young');
  expect(tick()).toBe('full'); // still over at the next look
  expect(asked).toEqual(['young', 'full']);
  expect(tick()).toBe('none');
});

it('runs the full collection at once when old space is over its bound', () => {
  const { heap, asked, tick } = fakeHeap({ young: 0, full: 0 });
  heap.old = 40 * MIB;
  expect(tick()).toBe('full');
  expect(asked).toEqual(['full']);
  expect(tick()).toBe('none'); // measured again after it: 40 MiB is the new live size
});

/** `count` buffers of 256 KiB, none kept (a function of its own: nothing of it stays on the caller's stack). */
function garbage(count: number): void {
  for (let i = 0; i < count; i++) Buffer.allocUnsafe(256 * 1024)[0] = i;
}

it('counts a buffer that died young as freed soon after a young collection (what the pacer reads)', async () => {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as Collect;
  v8.setFlagsFromString('--no-expose-gc');
  const before = process.memoryUsage().arrayBuffers;
  garbage(64); // 16 MiB, each buffer dead at once
  expect(process.memoryUsage().arrayBuffers - before).toBeGreaterThanOrEqual(15 * MIB);
  gc({ type: 'minor' });
  await sleep(INTERVAL_MS); // the next look
  expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(4 * MIB);
});

const oldSpace = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === 'old_space')!.space_used_size;

/** `count` small objects kept until the returned function drops them. */
function promoted(count: number): () => void {
  let keep: Array<{ i: number }> | null = [];
  for (let i = 0; i < count; i++) keep.push({ i });
  return () => void (keep = null);
}

it('a full collection through collectWith frees dead old space (gc(undefined) is a young one in V8)', () => {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as Collect;
  v8.setFlagsFromString('--no-expose-gc');
  const drop = promoted(400_000); // ~16 MB of objects
  gc(); // promoted to old space
  gc();
  const before = oldSpace();
  drop();
  gc({ type: 'minor' }); // a young collection does not free old space
  expect(before - oldSpace()).toBeLessThan(4 * MIB);
  collectWith(gc);
  expect(before - oldSpace()).toBeGreaterThan(8 * MIB);
});
