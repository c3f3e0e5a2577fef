/**
 * The rollout's check of the whole release (diff/release-summary.ts) counts the
 * selection's files and keeps its symlinks: the same answer as the full listing,
 * on a real repository (a submodule, a filtered selection, a non-ASCII name,
 * enough files for several chunks of git's output, names with a tab or a
 * newline, an ignore file). The summary lists with ls-tree (diff/tree-listing.ts),
 * the listing with diff-tree from the empty tree: two git commands, one answer.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { git } from '../helpers/git.js';
import { makeRepo, type Tree } from '../helpers/repo.js';
import { summarizeRelease } from '../../src/diff/release-summary.js';
import { diffReleases } from '../../src/diff/diff-releases.js';
import { SUBMODULE_MODE, SYMLINK_MODE } from '../../src/diff/types.js';

const repo = makeRepo();
let to = '';
beforeAll(() => {
  const tree: Tree = {
    'site/in.link': { link: 'a.txt' },
    'site/out.link': { link: '../../etc/passwd' },
    'site/é-ü.txt': 'unicode\n',
    'site/odd name\twith\ntab and newline.txt': 'odd\n',
    'site/odd\nlink': { link: 'a.txt' },
    'site/.diffshipignore': 'ignored-*\n',
    'site/ignored-1.txt': 'not shipped\n',
    'site/skip/x.link': { link: 'nowhere' },
    'other/y.txt': 'y\n',
  };
  for (let i = 0; i < 3000; i++) tree[`site/d${i % 30}/file-${i}.txt`] = `file ${i}\n`;
  repo.commit(tree);
  git(repo.dir, 'update-index', '--add', '--cacheinfo', `160000,${'5'.repeat(40)},site/vendor`);
  git(repo.dir, 'commit', '-q', '-m', 'submodule');
  to = git(repo.dir, 'rev-parse', 'HEAD');
});
afterAll(() => repo.cleanup());

describe('summarizeRelease', () => {
  it.each([{ source: 'site', exclude: ['skip/**'] }, { source: '.', include: ['site/**'] }, {}])(
    'counts the files and keeps the symlinks the listing has (%j)',
    async (selection) => {
      const o = { repo: repo.dir, to, ...selection };
      const summary = await summarizeRelease(null, o);
      const full = await diffReleases({ ...o, from: undefined, renames: false });
      const files = full.changes.filter((c) => c.status !== 'deleted' && c.mode !== SUBMODULE_MODE);
      expect(summary.files).toBe(files.length);
      expect(summary.files).toBeGreaterThan(3000);
      const links = (cs: typeof full.changes) => cs.map((c) => JSON.stringify(c)).sort();
      expect(links(summary.links)).toEqual(
        links(files.filter((c) => c.status !== 'deleted' && c.mode === SYMLINK_MODE)),
      );
      expect(summary.links.length).toBeGreaterThan(0);
    },
  );
});
