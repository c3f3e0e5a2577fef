/** The look's stats kept as text (look-stats.ts): each read back as it was pushed, at any count. */
import { describe, expect, it } from 'vitest';
import { LookStats } from '../../src/observe/look-stats.js';
import type { FileStat } from '../../src/plan/manifest-types.js';

const stat = (i: number): FileStat => ({
  size: i * 7,
  mtimeNs: `${1_733_000_000_000_000_000n + BigInt(i)}`,
  ctimeNs: `${1_733_000_000_500_000_000n + BigInt(i)}`,
  ino: String(18_446_744_073_709_551_615n - BigInt(i)),
  mode: i % 3 === 0 ? 0o120777 : 0o100644,
});

describe('LookStats', () => {
  it('gives back each stat, and null for an entry sent without one, past several growths', () => {
    const column = new LookStats();
    // Past the 1,024 first slots and the 64 KiB first buffer (~80 bytes a stat here).
    const n = 5_000;
    for (let i = 0; i < n; i++) column.push(i % 5 === 4 ? null : stat(i));
    expect(column.length).toBe(n);
    for (let i = 0; i < n; i++) {
      expect(column.has(i)).toBe(i % 5 !== 4);
      expect(column.get(i)).toEqual(i % 5 === 4 ? null : stat(i));
    }
  });

  it('reads back from its temporary file past its memory, in order and out of order', () => {
    // No memory kept: every full chunk goes to the file (diff/spilled-chunks.ts).
    const column = new LookStats(0);
    const n = 20_000; // ~80 bytes a stat: ~25 chunks of 64 KiB
    for (let i = 0; i < n; i++) column.push(i % 7 === 0 ? null : stat(i));
    for (let i = 0; i < n; i += 3) expect(column.get(i)).toEqual(i % 7 === 0 ? null : stat(i));
    // Backwards: each read starts over, and still finds its own text.
    for (const i of [n - 2, 12_345, 2, 1]) expect(column.get(i)).toEqual(stat(i));
  });

  it('reads a first entry without a stat, then one with', () => {
    const column = new LookStats();
    column.push(null);
    column.push(stat(1));
    expect(column.get(0)).toBeNull();
    expect(column.has(0)).toBe(false);
    expect(column.get(1)).toEqual(stat(1));
  });
});
