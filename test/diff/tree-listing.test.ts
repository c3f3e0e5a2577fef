/**
 * ls-tree's records rewritten as diff-tree's (diff/tree-listing.ts): the bytes
 * git diff-tree gives for the same release from the empty tree, whatever the
 * chunk boundaries, on a real repository; a record it can't read is an error.
 */
import { execFileSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { makeRepo } from '../helpers/repo.js';
import { listingAsRaw } from '../../src/diff/tree-listing.js';

const repo = makeRepo();
afterAll(() => repo.cleanup());

const gitOut = (...args: string[]) => execFileSync('git', ['-C', repo.dir, ...args], { maxBuffer: 1 << 26 });

describe('listingAsRaw', () => {
  it('gives diff-tree --raw -z from the empty tree, split anywhere', () => {
    repo.commit({
      'a.txt': 'a\n',
      'dir/odd\tname\nx': 'odd\n',
      'dir/é.txt': 'é\n',
      'dir/link': { link: '../a.txt' },
      'run.sh': { content: '#!/bin/sh\n', mode: 0o755 },
    });
    const tree = gitOut('rev-parse', 'HEAD^{tree}').toString().trim();
    const empty = gitOut('hash-object', '-t', 'tree', '/dev/null').toString().trim();
    const want = gitOut('diff-tree', '-r', '-z', '--raw', '--no-abbrev', '--no-renames', empty, tree);
    const listed = gitOut('ls-tree', '-r', '-z', '--full-tree', tree);
    for (const step of [1, 7, 64, listed.length]) {
      const got: Buffer[] = [];
      const l = listingAsRaw((c) => got.push(c));
      for (let i = 0; i < listed.length; i += step) l.push(listed.subarray(i, i + step));
      l.end();
      expect(Buffer.concat(got).equals(want), `chunks of ${step}`).toBe(true);
    }
  });

  it('refuses a record it does not know, and a cut one', () => {
    expect(() => listingAsRaw(() => {}).push(Buffer.from('100644 blob abc\tx\0'))).toThrow(
      /ls-tree gave a record/,
    );
    const l = listingAsRaw(() => {});
    l.push(Buffer.from('100644 blob '));
    expect(() => l.end()).toThrow(/ls-tree gave a record/);
  });
});
