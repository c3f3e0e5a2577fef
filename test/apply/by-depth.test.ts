/**
 * Paths grouped by depth, deepest first (safe-path.ts): how deletes and emptied folders go,
 * children before parents. Pure logic.
 */
import { describe, expect, it } from 'vitest';
import { byDepthDeepestFirst, depthOf } from '../../src/apply/safe-path.js';

describe('depthOf', () => {
  it('counts the folders above a path', () => {
    expect(['a', 'a/b', 'a/b/c.txt', 'a b/c d/e'].map(depthOf)).toEqual([0, 1, 2, 2]);
  });
});

describe('byDepthDeepestFirst', () => {
  it('drops duplicates wherever they are, deepest group first', () => {
    expect(byDepthDeepestFirst(['a/b', 'a/b/c', 'a', 'x/y', 'a/b/c', 'a'])).toEqual([
      ['a/b/c'],
      ['a/b', 'x/y'],
      ['a'],
    ]);
  });

  it('sorted: drops a repeat next to its first, with no set of the paths', () => {
    function* sorted(): Generator<string> {
      yield* ['a/x', 'a/x', 'a/y/z', 'a/y/z', 'b'];
    }
    expect(byDepthDeepestFirst(sorted(), true)).toEqual([['a/y/z'], ['a/x'], ['b']]);
  });
});
