/**
 * A flag per item in a bit (src/bit-set.ts: a staging's per-file flags): each bit set reads
 * back set, every other one unset, across word boundaries and at the last item.
 */
import { expect, it } from 'vitest';
import { BitSet } from '../src/bit-set.js';

it('holds exactly the bits set, across word boundaries', () => {
  const size = 1_000;
  const bits = new BitSet(size);
  const chosen = new Set([0, 1, 30, 31, 32, 33, 63, 64, 500, 998, 999]);
  for (const i of chosen) bits.set(i);
  bits.set(31); // twice: still set, no other bit changes
  expect(bits.size).toBe(size);
  for (let i = 0; i < size; i++) expect([i, bits.has(i)]).toEqual([i, chosen.has(i)]);
});
