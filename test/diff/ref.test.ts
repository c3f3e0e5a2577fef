import { describe, expect, it } from 'vitest';
import { isFetchableRef, normalizeRef, normalizeSource } from '../../src/diff/ref.js';

describe('normalizeRef', () => {
  it('trims, and treats absent or empty as null', () => {
    expect(normalizeRef(' v1.0 ', 'to')).toBe('v1.0');
    expect(normalizeRef('', 'from')).toBeNull();
    expect(normalizeRef('   ', 'from')).toBeNull();
    expect(normalizeRef(undefined, 'from')).toBeNull();
    expect(normalizeRef(null, 'from')).toBeNull();
  });

  it.each(['--output=x', '-x', '--upload-pack=touch pwned'])('refuses the option-like ref %j', (ref) => {
    expect(() => normalizeRef(ref, 'from')).toThrow(
      expect.objectContaining({ code: 'E_REF', message: expect.stringContaining('looks like an option') }),
    );
  });

  it('refuses control characters (they would break the batch protocol)', () => {
    expect(() => normalizeRef('main\nHEAD', 'to')).toThrow(expect.objectContaining({ code: 'E_REF' }));
  });
});

describe('isFetchableRef', () => {
  it('accepts SHAs and plain ref names', () => {
    expect(isFetchableRef('a'.repeat(40))).toBe(true);
    expect(isFetchableRef('b'.repeat(64))).toBe(true);
    expect(isFetchableRef('v1.4.0')).toBe(true);
    expect(isFetchableRef('release/2024-01')).toBe(true);
    expect(isFetchableRef('refs/tags/v1')).toBe(true);
  });

  it.each(['v1~2', 'HEAD^', 'HEAD^{tree}', 'a:b', '@{-1}', 'a..b', 'x*', 'x.lock', '/x'])(
    'refuses %j',
    (ref) => {
      expect(isFetchableRef(ref)).toBe(false);
    },
  );
});

describe('normalizeSource', () => {
  it.each([
    [undefined, '.', ''],
    ['', '.', ''],
    ['.', '.', ''],
    ['./', './', ''],
    ['workflows', 'workflows', 'workflows/'],
    ['./a//b/', './a//b/', 'a/b/'],
    ['dir with space/ü', 'dir with space/ü', 'dir with space/ü/'],
  ])('%j → given %j, prefix %j', (value, given, prefix) => {
    expect(normalizeSource(value)).toEqual({ given, prefix });
  });

  it.each(['/etc', '../x', 'a/../../b', 'C:\\x', 'a\nb'])('refuses %j', (value) => {
    expect(() => normalizeSource(value)).toThrow(expect.objectContaining({ code: 'E_CONFIG' }));
  });
});
