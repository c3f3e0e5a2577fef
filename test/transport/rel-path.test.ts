import { describe, expect, it } from 'vitest';
import { checkRelPath, joinRel, joinRoot } from '../../src/transport/rel-path.js';
import { byteOrder, sortByPath } from '../../src/byte-order.js';

describe('checkRelPath', () => {
  it.each([
    'a',
    'a/b/c.txt',
    '.diffship/state.json',
    '..a',
    'a..',
    '...',
    'a b/ü ✓',
    '-x',
    'a\nb',
    'a\\b',
    '.hidden',
  ])('accepts %j', (rel) => {
    expect(checkRelPath(rel)).toBe(rel);
  });

  it.each([
    ['/etc/passwd', 'absolute'],
    ['..', "'..'"],
    ['../a', "'..'"],
    ['a/../b', "'..'"],
    ['a/..', "'..'"],
    ['.', "'.'"],
    ['./a', "'.'"],
    ['a/./b', "'.'"],
    ['a//b', 'empty path segment'],
    ['a/', 'empty path segment'],
    ['a\0b', 'NUL'],
    ['', 'empty path'],
  ])('refuses %j (%s) with E_UNSAFE naming it', (rel, why) => {
    try {
      checkRelPath(rel);
      expect.unreachable();
    } catch (error) {
      expect(error).toMatchObject({ code: 'E_UNSAFE' });
      expect((error as Error).message).toContain(JSON.stringify(rel));
      expect((error as Error).message).toContain(why);
    }
  });

  it("allows '' (the root) only when asked", () => {
    expect(checkRelPath('', { allowRoot: true })).toBe('');
    expect(() => checkRelPath('/', { allowRoot: true })).toThrow();
  });
});

describe('joins and order', () => {
  it('joins onto roots and folders', () => {
    expect(joinRoot('/srv/app', 'a/b')).toBe('/srv/app/a/b');
    expect(joinRoot('/srv/app/', 'a')).toBe('/srv/app/a');
    expect(joinRoot('/srv/app', '')).toBe('/srv/app');
    expect(joinRel('', 'a')).toBe('a');
    expect(joinRel('a', 'b')).toBe('a/b');
  });

  it('orders by UTF-8 bytes like git, not by UTF-16 code units', () => {
    // U+FB01 (EF AC 81) sorts before U+1F600 (F0 9F 98 80) in UTF-8, but after it in UTF-16 (FB01 > D83D).
    const names = ['😀', '\uFB01', 'B', 'a', 'é', '_'];
    expect([...names].sort(byteOrder)).toEqual(['B', '_', 'a', 'é', '\uFB01', '😀']);
    expect([...names].sort()).not.toEqual([...names].sort(byteOrder));
    expect(sortByPath(names.map((path) => ({ path }))).map((e) => e.path)).toEqual(
      [...names].sort(byteOrder),
    );
    expect(['b', 'a'].sort(byteOrder)).toEqual(['a', 'b']);
  });
});
