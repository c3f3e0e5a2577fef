/**
 * Commits read from the ref files without git: each guess must be what git
 * itself resolves the ref to, or null (a wrong guess only costs a process, but
 * a guess that is always wrong for a common case would cost it every time).
 */
import { mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { guessCommit, guessPair } from '../../src/diff/ref-guess.js';
import { git } from '../helpers/git.js';
import { createRepo, type TestRepo } from './git-repo.js';

describe('guessCommit', () => {
  let r: TestRepo;
  let v1: string;
  let v2: string;
  const commitOf = (ref: string) =>
    git(r.dir, 'rev-parse', '--verify', '--end-of-options', `${ref}^{commit}`);

  beforeAll(() => {
    r = createRepo();
    r.write({ 'a.txt': 'a\n' });
    v1 = r.commit();
    r.write({ 'a.txt': 'b\n' });
    v2 = r.commit();
    git(r.dir, 'tag', 'light', v1);
    git(r.dir, 'tag', '-a', '-m', 'annotated', 'packed-annotated', v1);
    git(r.dir, 'branch', 'feature/x', v1);
    git(r.dir, 'update-ref', 'refs/remotes/origin/main', v1);
    git(r.dir, 'pack-refs', '--all');
    // After packing: loose refs that override nothing, and a packed one a loose one shadows.
    git(r.dir, 'tag', 'loose', v2);
    git(r.dir, 'update-ref', 'refs/tags/light', v2);
  });
  afterAll(() => r.cleanup());

  it.each([
    ['HEAD (symbolic, to a loose branch)', 'HEAD'],
    ['a branch', 'main'],
    ['a branch in a folder, packed', 'feature/x'],
    ['a packed annotated tag, by its peeled line', 'packed-annotated'],
    ['a loose tag', 'loose'],
    ['a loose tag shadowing its packed line', 'light'],
    ['a remote-tracking ref by its short name', 'origin/main'],
    ['a full ref name', 'refs/tags/loose'],
  ])('reads %s as git resolves it', (_name, ref) => {
    expect(guessCommit(r.dir, ref)).toBe(commitOf(ref));
  });

  it('takes a full SHA as it is, in lower case', () => {
    expect(guessCommit(r.dir, v1.toUpperCase())).toBe(v1);
  });

  it.each([['HEAD~1'], ['v1^{commit}'], ['main:a.txt'], ['@{-1}'], ['a..b'], ['no-such-ref'], ['/abs']])(
    'does not guess %s',
    (ref) => {
      expect(guessCommit(r.dir, ref)).toBeNull();
    },
  );

  it('does not guess when GIT_DIR points elsewhere, or from a subfolder of the work tree', () => {
    expect(guessCommit(r.dir, 'main', { GIT_DIR: '/elsewhere' })).toBeNull();
    mkdirSync(join(r.dir, 'sub'), { recursive: true });
    expect(guessCommit(join(r.dir, 'sub'), 'main')).toBeNull();
  });

  it('does not follow a symbolic ref out of refs/, nor endlessly', () => {
    // A file outside the git directory that holds a commit id: not read as a ref.
    writeFileSync(join(r.dir, 'outside'), `${v1}\n`);
    writeFileSync(join(r.dir, '.git', 'refs', 'heads', 'odd'), 'ref: refs/../../outside\n');
    expect(guessCommit(r.dir, 'odd')).toBeNull();
    writeFileSync(join(r.dir, '.git', 'refs', 'heads', 'loop'), 'ref: refs/heads/loop\n');
    expect(guessCommit(r.dir, 'loop')).toBeNull();
  });

  it('does not read a packed-refs file over 1 MiB (searching it could cost more than it saves)', () => {
    const big = createRepo();
    try {
      big.write({ 'a.txt': 'a\n' });
      const head = big.commit();
      // Written as `git pack-refs` writes it (sorted), faster than creating 20,000 refs through git.
      const pads = Array.from(
        { length: 20_000 },
        (_, i) => `${head} refs/tags/pad-${String(i).padStart(5, '0')}\n`,
      );
      const header = '# pack-refs with: peeled fully-peeled sorted \n';
      writeFileSync(
        join(big.dir, '.git', 'packed-refs'),
        [header, `${head} refs/heads/main\n`, ...pads].join(''),
      );
      rmSync(join(big.dir, '.git', 'refs', 'heads', 'main'));
      expect(git(big.dir, 'rev-parse', 'pad-00007')).toBe(head); // git reads it
      expect(statSync(join(big.dir, '.git', 'packed-refs')).size).toBeGreaterThan(1 << 20);
      expect(guessCommit(big.dir, 'pad-00007')).toBeNull();
      expect(guessCommit(big.dir, 'HEAD')).toBeNull(); // main is packed too
      git(big.dir, 'tag', 'loose-one', head);
      expect(guessCommit(big.dir, 'loose-one')).toBe(head); // loose refs are still read
    } finally {
      big.cleanup();
    }
  });

  it('guesses a pair only with both commits, never for a listing', () => {
    expect(guessPair(r.dir, 'light', 'main')).toEqual({ from: commitOf('light'), to: v2 });
    expect(guessPair(r.dir, 'HEAD~1', 'main')).toBeNull();
    expect(guessPair(r.dir, null, 'main')).toBeNull();
  });
});
