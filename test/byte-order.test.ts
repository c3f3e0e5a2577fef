/**
 * Paths in git's order (byte order of their UTF-8): sortPaths takes the engine's own string
 * sort unless a path holds a character past U+FFFF, where UTF-16 order and byte order differ.
 */
import { describe, expect, it } from 'vitest';
import { byteOrder, sortPaths } from '../src/byte-order.js';

const utf8Order = (paths: string[]) =>
  [...paths].sort((a, b) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8')));

describe('sortPaths', () => {
  it('sorts plain paths in byte order, in place, as git lists them', () => {
    const paths = ['b/c', 'a.txt', 'a/b', 'B', 'a', 'é', 'z', 'a-b'];
    const sorted = sortPaths(paths);
    expect(sorted).toBe(paths);
    expect(sorted).toEqual(['B', 'a', 'a-b', 'a.txt', 'a/b', 'b/c', 'z', 'é']);
    expect(sorted).toEqual(utf8Order(paths));
  });

  it('puts a character past U+FFFF after U+E000–U+FFFF, as its UTF-8 bytes do', () => {
    // UTF-16 puts the surrogate pair of U+1F600 (0xD83D…) before U+FF21; UTF-8 puts F0… after EF….
    const paths = ['x\u{1F600}', 'x\uFF21', 'x\uE000', 'xa'];
    expect([...paths].sort()).toEqual(['xa', 'x\u{1F600}', 'x\uE000', 'x\uFF21']);
    expect(sortPaths([...paths])).toEqual(['xa', 'x\uE000', 'x\uFF21', 'x\u{1F600}']);
    expect(sortPaths([...paths])).toEqual([...paths].sort(byteOrder));
  });

  it('agrees with byteOrder on many generated paths, with and without surrogates', () => {
    const alphabet = ['a', 'b', '/', '.', '-', 'é', '\uE000', '\uFFFD', '\u{10000}', '\u{1F600}'];
    let seed = 7;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
    const make = (letters: string[]) =>
      Array.from({ length: 2000 }, () =>
        Array.from({ length: 1 + (next() % 6) }, () => letters[next() % letters.length]).join(''),
      );
    for (const letters of [alphabet.slice(0, 6), alphabet]) {
      const paths = make(letters);
      expect(sortPaths([...paths])).toEqual([...paths].sort(byteOrder));
    }
  });
});
