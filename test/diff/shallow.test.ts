import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { diffReleases } from '../../src/diff/diff-releases.js';
import { createRepo, type TestRepo } from './git-repo.js';
import { git, tempDir } from '../helpers/git.js';

// GitHub's checkout makes a --depth=1 clone: only the `to` commit is there.
describe('diffReleases in a shallow clone', () => {
  let origin: TestRepo;
  let work: string;
  let clone: string;
  const sha: string[] = [];

  beforeAll(() => {
    origin = createRepo();
    origin.write({ 'app/a.json': '1\n', 'app/b.json': 'b\n' });
    sha.push(origin.commit());
    git(origin.dir, 'tag', '-a', '-m', 'first', 'v1');
    origin.write({ 'app/a.json': '2\n' });
    sha.push(origin.commit());
    git(origin.dir, 'tag', 'v2');
    origin.write({ 'app/a.json': '3\n', 'app/c.json': 'c\n' });
    sha.push(origin.commit());
    work = tempDir();
    clone = join(work, 'clone');
    git(work, 'clone', '-q', '--depth=1', '--no-tags', `file://${origin.dir}`, clone);
  });
  afterAll(() => {
    origin.cleanup();
    rmSync(work, { recursive: true, force: true });
  });

  it('starts as a shallow clone without the old commit', () => {
    expect(git(clone, 'rev-parse', '--is-shallow-repository')).toBe('true');
    expect(() => git(clone, 'cat-file', '-e', `${sha[0]}^{commit}`)).toThrow();
  });

  it('fetches a missing commit by SHA and diffs like the full repository', async () => {
    const result = await diffReleases({ repo: clone, from: sha[0], to: 'HEAD', source: 'app' });
    const full = await diffReleases({ repo: origin.dir, from: sha[0], to: sha[2], source: 'app' });
    expect(result).toEqual(full);
    expect(result.counts).toEqual({ added: 1, updated: 1, deleted: 0, renamed: 0 });
  });

  it('fetches a tag the clone lacks (annotated or not) and reports its commit', async () => {
    expect((await diffReleases({ repo: clone, from: 'v2' })).from).toBe(sha[1]);
    expect((await diffReleases({ repo: clone, from: 'v1', to: 'v2' })).from).toBe(sha[0]);
  });

  it('names the ref and the fix when the commit cannot be fetched', async () => {
    const missing = 'f'.repeat(40);
    await expect(diffReleases({ repo: clone, from: missing })).rejects.toMatchObject({
      code: 'E_REF',
      message: expect.stringMatching(
        new RegExp(`from ref "${missing}" is not in this shallow clone.*fetch-depth: 0`),
      ),
    });
    await expect(diffReleases({ repo: clone, from: 'no-such-tag' })).rejects.toMatchObject({
      code: 'E_REF',
      message: expect.stringContaining('git fetch origin no-such-tag'),
    });
  });

  it('fetches for several diffs running at once (one fetch at a time)', async () => {
    const fresh = join(work, 'parallel');
    git(work, 'clone', '-q', '--depth=1', '--no-tags', `file://${origin.dir}`, fresh);
    const results = await Promise.all([
      diffReleases({ repo: fresh, from: sha[0] }),
      diffReleases({ repo: fresh, from: 'v2' }),
      diffReleases({ repo: `${fresh}/`, from: sha[1] }),
      diffReleases({ repo: fresh, from: 'v1' }),
    ]);
    expect(results.map((r) => r.from)).toEqual([sha[0], sha[1], sha[1], sha[0]]);
    expect(results[0]!.counts).toEqual({ added: 1, updated: 1, deleted: 0, renamed: 0 });
  });

  it('does not fetch when told not to, or when the ref is an expression', async () => {
    const fresh = join(work, 'fresh');
    git(work, 'clone', '-q', '--depth=1', '--no-tags', `file://${origin.dir}`, fresh);
    await expect(diffReleases({ repo: fresh, from: sha[0], fetchMissing: false })).rejects.toMatchObject({
      code: 'E_REF',
      message: expect.stringContaining('fetch-depth: 0'),
    });
    expect(() => git(fresh, 'cat-file', '-e', `${sha[0]}^{commit}`)).toThrow();
    await expect(diffReleases({ repo: fresh, from: 'HEAD~2' })).rejects.toMatchObject({ code: 'E_REF' });
  });
});
