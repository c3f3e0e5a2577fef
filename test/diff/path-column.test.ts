/**
 * A listing's front-coded path column (diff/path-column.ts): every path comes back exactly as it
 * went in, read in order, backwards, at random and across the restart points; names in UTF-8,
 * long shared prefixes, paths that share nothing; a path over the limit is refused and takes no
 * slot. Its size: a sorted listing's paths take a fraction of their bytes.
 */
import { describe, expect, it } from 'vitest';
import { MAX_PATH_BYTES, PathColumn } from '../../src/diff/path-column.js';

/** A sorted release-like listing: folders of 200 files, names sharing most of their bytes. */
function listing(count: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < count; i++)
    out.push(
      `workflows/team-${String(Math.floor(i / 200)).padStart(4, '0')}/flow-${String(i).padStart(6, '0')}.xml`,
    );
  return out;
}

describe('a path column', () => {
  it('gives back every path, in any order of reading', () => {
    const paths = [
      'a',
      'a/b',
      'a/b/c.txt',
      'a/bé/ü.txt',
      'a/bé/ü.txt2',
      'b',
      '日本/語.txt',
      '日本/語/x',
      'x'.repeat(300),
      `${'x'.repeat(300)}/y`,
      'z',
      ...listing(5_000),
    ];
    const column = new PathColumn();
    for (const p of paths) expect(column.push(p)).toBe(true);
    expect(column.length).toBe(paths.length);
    // In order (each one step from the last), backwards (each from its block's start), at random.
    paths.forEach((p, i) => expect(column.at(i)).toBe(p));
    for (let i = paths.length - 1; i >= 0; i--) expect(column.at(i)).toBe(paths[i]);
    let seed = 7;
    for (let k = 0; k < 3_000; k++) {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      const i = seed % paths.length;
      expect(column.at(i)).toBe(paths[i]);
    }
    // The same index twice, and the one before the last made.
    expect(column.at(40)).toBe(paths[40]);
    expect(column.at(40)).toBe(paths[40]);
    expect(column.at(39)).toBe(paths[39]);
  });

  it('refuses a path over the limit, which takes no slot', () => {
    const column = new PathColumn();
    expect(column.push('a/one')).toBe(true);
    expect(column.push(`a/${'é'.repeat(MAX_PATH_BYTES)}`)).toBe(false);
    expect(column.push('a/two')).toBe(true);
    expect(column.length).toBe(2);
    expect([column.at(0), column.at(1)]).toEqual(['a/one', 'a/two']);
    // The longest kept path spans no chunk's end: many of them, each read back whole.
    const long = (i: number) => `${String(i).padStart(4, '0')}/${'n'.repeat(MAX_PATH_BYTES - 5)}`;
    for (let i = 0; i < 40; i++) expect(column.push(long(i))).toBe(true);
    for (let i = 0; i < 40; i++) expect(column.at(i + 2)).toBe(long(i));
  });

  it('keeps a sorted listing in a fraction of its bytes', () => {
    const paths = listing(100_000);
    const column = new PathColumn();
    const before = process.memoryUsage().arrayBuffers;
    for (const p of paths) column.push(p);
    const used = process.memoryUsage().arrayBuffers - before;
    const bytes = paths.reduce((n, p) => n + p.length, 0);
    // ~3.4 MB of 36-byte paths: ~10 bytes each front-coded, 4 for its position (chunks of 256 KiB).
    expect(used).toBeLessThan(bytes / 2);
    expect(column.at(99_999)).toBe(paths[99_999]);
  });
});
