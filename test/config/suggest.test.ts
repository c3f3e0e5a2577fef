import { describe, expect, it } from 'vitest';
import { editDistance, suggest } from '../../src/config/suggest.js';

describe('editDistance', () => {
  it('counts a swap of neighbours as one edit', () => {
    expect(editDistance('hsot', 'host')).toBe(1);
    expect(editDistance('host', 'host')).toBe(0);
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('kitten', 'sitting')).toBe(3);
  });
});

describe('suggest', () => {
  const keys = ['name', 'type', 'path', 'host', 'port', 'state-dir', 'max-parallel', 'on-drift'];
  it.each([
    ['hsot', 'host'],
    ['pth', 'path'],
    ['prot', 'port'],
    ['state_dir', 'state-dir'],
    ['stateDir', 'state-dir'],
    ['maxParallel', 'max-parallel'],
    ['on-drfit', 'on-drift'],
  ])('%s → %s', (word, hint) => {
    expect(suggest(word, keys)).toBe(hint);
  });

  it('gives nothing when nothing is close', () => {
    expect(suggest('banana', keys)).toBeUndefined();
    expect(suggest('x', keys)).toBeUndefined();
    expect(suggest('abc', [])).toBeUndefined();
  });
});
