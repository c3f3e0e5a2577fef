/**
 * The release check's listing through an unlinked temporary file
 * (diff/spooled-listing.ts), on a real repository: git's exact bytes in order,
 * started early from a commit id and checked against the commit resolved (an
 * annotated tag's id is listed again, by its tree), git's failure worded as
 * git's, no file left in the temporary folder, and git's pipe where no
 * temporary file can be made.
 */
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { git, gitBytes, tempDir } from '../helpers/git.js';
import { makeRepo, type Tree } from '../helpers/repo.js';
import { startSpooledListing } from '../../src/diff/spooled-listing.js';
import { summarizeRelease } from '../../src/diff/release-summary.js';

const repo = makeRepo();
let commit = '';
let tree = '';
let tag = '';
const tmp = tempDir('diffship-spool-tmp-');
const savedTmp = process.env.TMPDIR;
beforeAll(() => {
  const files: Tree = { 'site/a.link': { link: '../../outside' } };
  // ~1 MB of ls-tree output: several reads of the file while git writes it.
  for (let i = 0; i < 12_000; i++) files[`site/d${i % 40}/file-${i}.txt`] = `file ${i}\n`;
  commit = repo.commit(files);
  tree = git(repo.dir, 'rev-parse', `${commit}^{tree}`);
  git(repo.dir, 'tag', '-a', '-m', 'v1', 'v1', commit);
  tag = git(repo.dir, 'rev-parse', 'v1');
  process.env.TMPDIR = tmp;
});
afterEach(() => {
  // Nothing left behind in the temporary folder, whatever the test did.
  expect(readdirSync(process.env.TMPDIR ?? tmp).filter((n) => n.startsWith('diffship-list-'))).toEqual([]);
});
afterAll(() => {
  process.env.TMPDIR = savedTmp;
  if (savedTmp === undefined) delete process.env.TMPDIR;
  rmSync(tmp, { recursive: true, force: true });
  repo.cleanup();
});

/** Run `listing` for `to`, the chunks as a reader gets them and the stdout it returns. */
async function listAll(listing: ReturnType<typeof startSpooledListing>, to: string) {
  const chunks: Buffer[] = [];
  const out = await listing.run('', to, (c) => chunks.push(c), true);
  return { got: Buffer.concat(chunks), stdout: out.stdout, chunks: chunks.length };
}

describe('startSpooledListing', () => {
  it("gives ls-tree's exact bytes, in order, started early from the commit id", async () => {
    const listing = startSpooledListing(repo.dir, 'site/', commit);
    expect(listing.listed()).toBe(commit);
    const { got, stdout, chunks } = await listAll(listing, tree);
    const expected = gitBytes(repo.dir, [
      'ls-tree',
      '-r',
      '-z',
      '--full-tree',
      tree,
      '--',
      ':(top,literal)site/',
    ]);
    expect(expected.length).toBeGreaterThan(600_000);
    expect(got.equals(expected)).toBe(true);
    // Each chunk is a buffer of its own: the kept stdout is not overwritten by later reads.
    expect(stdout.equals(expected)).toBe(true);
    expect(chunks).toBeGreaterThan(1);
  });

  it('without an early id, lists the tree given to run', async () => {
    const listing = startSpooledListing(repo.dir, '');
    expect(listing.listed()).toBeNull();
    const { got } = await listAll(listing, tree);
    expect(listing.listed()).toBe(tree);
    expect(got.equals(gitBytes(repo.dir, ['ls-tree', '-r', '-z', '--full-tree', tree, '--']))).toBe(true);
  });

  it("words git's failure as git's, naming the command", async () => {
    const listing = startSpooledListing(repo.dir, '', 'f'.repeat(40));
    await expect(listAll(listing, 'f'.repeat(40))).rejects.toThrow(/git ls-tree failed: .*not a tree object/);
  });

  it("reads git's pipe where no temporary file can be made", async () => {
    process.env.TMPDIR = join(tmp, 'missing');
    try {
      const listing = startSpooledListing(repo.dir, '', commit);
      expect(listing.listed()).toBe(commit);
      const { got } = await listAll(listing, tree);
      expect(got.equals(gitBytes(repo.dir, ['ls-tree', '-r', '-z', '--full-tree', tree, '--']))).toBe(true);
    } finally {
      process.env.TMPDIR = tmp;
    }
  });
});

describe('summarizeRelease through the spooled listing', () => {
  it('answers the same for the commit id, an annotated tag id (listed again by its tree) and a ref', async () => {
    expect(tag).not.toBe(commit);
    const byCommit = await summarizeRelease(null, { repo: repo.dir, to: commit, source: 'site' });
    expect(byCommit.files).toBe(12_001);
    expect(byCommit.links.map((l) => l.path)).toEqual(['a.link']);
    for (const to of [tag, 'v1', 'HEAD'])
      expect(await summarizeRelease(null, { repo: repo.dir, to, source: 'site' })).toEqual(byCommit);
  });

  it('closes the listing started early when the release cannot be read (no descriptor left open)', async () => {
    const fds = () => readdirSync('/proc/self/fd').length;
    const before = fds();
    await expect(summarizeRelease(null, { repo: repo.dir, to: 'e'.repeat(40) })).rejects.toThrow(/e{12}/);
    // git's own pipes close as it exits.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(fds()).toBe(before);
  });
});
