/** The diff engine's git helpers that need no repository. */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { emptyTreeId } from '../../src/diff/git.js';

describe('emptyTreeId', () => {
  it('is the hash of an empty tree object, for SHA-1 and SHA-256 repositories', () => {
    for (const [algo, length] of [
      ['sha1', 40],
      ['sha256', 64],
    ] as const) {
      expect(emptyTreeId(length)).toBe(createHash(algo).update('tree 0\0').digest('hex'));
    }
  });
});
