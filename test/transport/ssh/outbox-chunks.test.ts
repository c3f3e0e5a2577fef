/**
 * What one flush of the file helper's outbox writes (src/transport/ssh/outbox-chunks.ts): the
 * same bytes in the same order, small pieces joined into one write, big ones written as they
 * are (not copied), and views that follow each other in one buffer joined without a copy.
 */
import { describe, expect, it } from 'vitest';
import { AS_IS_BYTES, outboxChunks } from '../../../src/transport/ssh/outbox-chunks.js';

const bytes = (n: number, fill: number) => Buffer.alloc(n, fill);

describe('outboxChunks', () => {
  it('joins small pieces into one buffer, in order', () => {
    const pieces = [bytes(10, 1), bytes(20, 2), bytes(30, 3)];
    const out = outboxChunks(pieces);
    expect(out).toHaveLength(1);
    expect(out[0]).toEqual(Buffer.concat(pieces));
  });

  it('writes a big piece as it is, between the joined runs of small ones', () => {
    const big = bytes(AS_IS_BYTES, 9);
    const pieces = [bytes(5, 1), bytes(6, 2), big, bytes(7, 3)];
    const out = outboxChunks(pieces);
    expect(out.map((b) => b.length)).toEqual([11, AS_IS_BYTES, 7]);
    // Not a copy: the very buffer handed in.
    expect(out[1]).toBe(big);
    expect(Buffer.concat(out)).toEqual(Buffer.concat(pieces));
  });

  it('joins views that follow each other in one buffer without copying them', () => {
    const slab = Buffer.allocUnsafe(3 * 40_000);
    for (let i = 0; i < slab.length; i++) slab[i] = i % 251;
    const views = [slab.subarray(0, 40_000), slab.subarray(40_000, 80_000), slab.subarray(80_000)];
    const header = bytes(12, 7);
    const out = outboxChunks([header, ...views]);
    expect(out).toHaveLength(2);
    expect(out[0]).toEqual(header);
    // One view of the slab: the same memory, all of it.
    expect(out[1]!.buffer).toBe(slab.buffer);
    expect(out[1]!.byteOffset).toBe(slab.byteOffset);
    expect(out[1]!.length).toBe(slab.length);
    slab[0] = 250;
    expect(out[1]![0]).toBe(250);
  });

  it('does not join views with a gap between them, or out of order', () => {
    const slab = Buffer.alloc(100);
    slab.fill(1, 0, 10);
    slab.fill(2, 20, 30);
    const gap = [slab.subarray(0, 10), slab.subarray(20, 30)];
    expect(Buffer.concat(outboxChunks(gap))).toEqual(Buffer.concat(gap));
    const swapped = [slab.subarray(20, 30), slab.subarray(0, 10)];
    expect(Buffer.concat(outboxChunks(swapped))).toEqual(Buffer.concat(swapped));
  });

  it('leaves out empty pieces; nothing for nothing', () => {
    expect(outboxChunks([])).toEqual([]);
    expect(outboxChunks([Buffer.alloc(0)])).toEqual([]);
    const one = bytes(3, 4);
    expect(outboxChunks([Buffer.alloc(0), one, Buffer.alloc(0)])).toEqual([one]);
  });
});
