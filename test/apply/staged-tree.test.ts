/**
 * A local first deploy's shortcuts (issue 13): folders the deploy creates are staged
 * whole and renamed into place in one go (apply/staged-tree.ts), and staged files are
 * hashed as they are written instead of being read back (transport/local/stream-write.ts).
 * The guarantees stay: the target ends as the release, a failed commit is undone.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { LocalTransport } from '../../src/transport/local/local-transport.js';
import { snapshot } from '../helpers/repo.js';
import { recording } from '../helpers/recording.js';
import { deploy, intoTarget, releases, setup as sharedSetup, stagingLeft } from '../helpers/staged-tree.js';

/** Files in the created folders. */
const FILES = 40;

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

const setup = () => sharedSetup('diffship-tree-', cleanups);

describe('a local deploy that creates folders', () => {
  it('renames each topmost new folder into place whole, and the target is the release', async () => {
    const { repo, target } = setup();
    const { v1, v2 } = releases(FILES);
    const c1 = repo.commit(v1);
    const c2 = repo.commit(v2);
    const first = recording(new LocalTransport(target));
    await deploy(first.transport, repo.dir, c1);
    // A first deploy: `old` is created whole, `a.txt` sits at the root and is renamed itself.
    expect(intoTarget(first.calls).map((c) => c.to)).toEqual(['old', 'a.txt']);
    const { transport, calls } = recording(new LocalTransport(target));
    await deploy(transport, repo.dir, c2);
    expect(
      intoTarget(calls)
        .map((c) => c.to)
        .sort(),
    ).toEqual(['a.txt', 'new', 'old/more', 'zz']);
    expect(snapshot(target, ['.diffship'])).toEqual(snapshot(repo.dir, ['.git']));
    // Folders get the mode a mkdir gives them, not the state folder's.
    expect(statSync(join(target, 'new/d1')).mode & 0o777).toBe(statSync(join(target, 'old')).mode & 0o777);
    expect(statSync(join(target, 'new')).mode & 0o077).not.toBe(0);
    expect(stagingLeft(target)).toEqual([]);
  });

  it('hashes the staged files as it writes them: nothing is read back', async () => {
    const { repo, target } = setup();
    const c2 = repo.commit(releases(FILES).v2);
    const real = new LocalTransport(target);
    const spy = Object.create(real) as LocalTransport;
    const asked: string[][] = [];
    spy.hashFiles = async (rels, options) => {
      asked.push([...rels]);
      return real.hashFiles(rels, options);
    };
    await deploy(spy, repo.dir, c2);
    // Only the link is read back (its text, written by symlink(2), not by the hashing writer).
    const staged = asked.flat().filter((p) => p.includes('/staging/'));
    expect(staged.map((p) => p.replace(/^.*\/t\//, ''))).toEqual(['new/current']);
    expect(snapshot(target, ['.diffship'])).toEqual(snapshot(repo.dir, ['.git']));
  });

  it('a commit that fails after a new folder came in whole is undone: no file or folder of it stays', async () => {
    const { repo, target } = setup();
    const { v1, v2 } = releases(FILES);
    const c1 = repo.commit(v1);
    const c2 = repo.commit(v2);
    await deploy(new LocalTransport(target), repo.dir, c1);
    const before = snapshot(target, ['.diffship']);
    const real = new LocalTransport(target);
    const failing = Object.create(real) as LocalTransport;
    let renames = 0;
    failing.rename = async (from, to) => {
      // The first folder (`new` or `old/more`) is in place; the next rename into the target fails.
      if (from.includes('/staging/') && !to.startsWith('.diffship') && ++renames === 2)
        throw new Error('ENOSPC: no space left on device');
      return real.rename(from, to);
    };
    await expect(deploy(failing, repo.dir, c2)).rejects.toThrow(/ENOSPC.*undone: .* is back at release/);
    expect(snapshot(target, ['.diffship'])).toEqual(before);
    expect(existsSync(join(target, 'new'))).toBe(false);
    expect(existsSync(join(target, 'old/more'))).toBe(false);
    expect(stagingLeft(target)).toEqual([]);
  });
});
