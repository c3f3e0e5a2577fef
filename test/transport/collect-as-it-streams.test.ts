/**
 * collectingAsItStreams (collect-as-it-streams.ts): the bytes go through as
 * they were, a small source is handed back untouched, the writer's hashing
 * notice reaches the source, and young collections run as a big one streams.
 */
import { constants, PerformanceObserver } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { COLLECT_EVERY, collectingAsItStreams } from '../../src/transport/collect-as-it-streams.js';
import type { ByteSource } from '../../src/transport/transport.js';

/** `count` chunks of `chunk` bytes (one buffer, handed out again and again: almost no garbage of its own). */
function repeated(chunk: number, count: number, told: boolean[] = []): ByteSource {
  const block = Buffer.alloc(chunk, 7);
  return {
    size: chunk * count,
    hashedByWriter: (yes: boolean) => void told.push(yes),
    async *[Symbol.asyncIterator]() {
      for (let i = 0; i < count; i++) {
        block[0] = i & 0xff;
        yield block;
      }
    },
  };
}

describe('collectingAsItStreams', () => {
  it('hands a small source back as it is', () => {
    const small = repeated(1024, 4);
    expect(collectingAsItStreams(small)).toBe(small);
  });

  it('passes every byte of a big source, in order, and the hashing notice', async () => {
    const told: boolean[] = [];
    const source = repeated(64 * 1024, (3 * COLLECT_EVERY) / (64 * 1024), told);
    const wrapped = collectingAsItStreams(source);
    expect(wrapped).not.toBe(source);
    expect(wrapped.size).toBe(source.size);
    wrapped.hashedByWriter?.(true);
    expect(told).toEqual([true]);
    let bytes = 0;
    let i = 0;
    for await (const chunk of wrapped) {
      expect(chunk[0]).toBe(i++ & 0xff);
      bytes += chunk.length;
    }
    expect(bytes).toBe(source.size);
  });

  it('runs a young collection every COLLECT_EVERY bytes', async () => {
    let minor = 0;
    const observer = new PerformanceObserver((list) => {
      for (const e of list.getEntries())
        if (
          (e as unknown as { detail?: { kind?: number } }).detail?.kind ===
          constants.NODE_PERFORMANCE_GC_MINOR
        )
          minor++;
    });
    observer.observe({ entryTypes: ['gc'] });
    for await (const chunk of collectingAsItStreams(repeated(64 * 1024, (10 * COLLECT_EVERY) / (64 * 1024))))
      void chunk;
    await new Promise((r) => setTimeout(r, 50));
    observer.disconnect();
    expect(minor).toBeGreaterThanOrEqual(10);
  });
});
