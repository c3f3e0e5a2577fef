/**
 * The release check's count (diff/listing-count.ts): plain files counted
 * without an object each, everything else passed on as ls-tree wrote it. Fed
 * a real repository's listing split anywhere, the count plus what the full
 * reader makes of the rest is the full listing's answer (an empty ignore file,
 * executables, a symlink, non-ASCII and odd names, a submodule, a source
 * folder, SHA-1 and SHA-256); a filter turns the count off; a cut or
 * malformed record is still refused.
 */
import { isAscii } from 'node:buffer';
import { execFileSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { makeRepo, type Tree } from '../helpers/repo.js';
import { git } from '../helpers/git.js';
import { ListingCount } from '../../src/diff/listing-count.js';
import { listingAsRaw } from '../../src/diff/tree-listing.js';
import { ChangeRecords } from '../../src/diff/change-records.js';
import { notIgnoreFile } from '../../src/diff/ignore.js';
import { diffReleases } from '../../src/diff/diff-releases.js';
import { SUBMODULE_MODE } from '../../src/diff/types.js';
import type { ClassifyOptions } from '../../src/diff/classify.js';

const repos: Array<ReturnType<typeof makeRepo>> = [];
afterAll(() => repos.forEach((r) => r.cleanup()));

function release(objectFormat: 'sha1' | 'sha256') {
  const repo = makeRepo({ objectFormat });
  repos.push(repo);
  const tree: Tree = {
    '.diffshipignore': '# nothing ignored\n',
    'site/.diffshipignore': '# the ignore file of source "site", a file like any other for source "."\n',
    'site/run.sh': { content: '#!/bin/sh\n', mode: 0o755 },
    'site/in.link': { link: 'run.sh' },
    'site/é-ü.txt': 'unicode\n',
    'site/odd name\twith\ntab.txt': 'odd\n',
    'other/y.txt': 'y\n',
  };
  for (let i = 0; i < 600; i++) tree[`site/d${i % 7}/file-${i}.txt`] = `file ${i}\n`;
  repo.commit(tree);
  const zeros = objectFormat === 'sha1' ? '5'.repeat(40) : '5'.repeat(64);
  git(repo.dir, 'update-index', '--add', '--cacheinfo', `160000,${zeros},site/vendor`);
  git(repo.dir, 'commit', '-q', '-m', 'submodule');
  return { dir: repo.dir, to: git(repo.dir, 'rev-parse', 'HEAD') };
}

/** ls-tree's listing fed to a ListingCount in chunks of `step`: files and links, and how many were only counted. */
function counted(listing: Buffer, options: ClassifyOptions, step: number) {
  const records = new ChangeRecords(options);
  const full = listingAsRaw((chunk) => records.push(chunk));
  const count = new ListingCount(options, {
    push: (c) => full.push(c),
    end: () => (full.end(), records.end()),
  });
  for (let i = 0; i < listing.length; i += step) count.push(listing.subarray(i, i + step));
  count.end();
  const kept = records.changes.filter((c) => c.status !== 'deleted' && c.mode !== SUBMODULE_MODE);
  return { files: count.counted + kept.length, counted: count.counted, kept: kept.map((c) => c.path).sort() };
}

describe('ListingCount', () => {
  it.each(['sha1', 'sha256'] as const)(
    'counts what the full listing holds, split anywhere (%s)',
    async (format) => {
      const { dir, to } = release(format);
      for (const source of ['.', 'site']) {
        const prefix = source === '.' ? '' : `${source}/`;
        const args = ['-C', dir, 'ls-tree', '-r', '-z', '--full-tree', to, '--'];
        if (prefix) args.push(`:(top,literal)${prefix}`);
        const listing = execFileSync('git', args, { maxBuffer: 1 << 26 });
        const full = await diffReleases({ repo: dir, to, source, renames: false });
        const files = full.changes.filter((c) => c.status !== 'deleted' && c.mode !== SUBMODULE_MODE);
        const odd = files.filter(
          (c) => c.status === 'added' && (c.mode === '120000' || !isAscii(Buffer.from(c.path))),
        );
        for (const step of [1, 7, 64, 4096, listing.length]) {
          const got = counted(listing, { prefix, filter: notIgnoreFile }, step);
          expect(got.files, `${source}, chunks of ${step}`).toBe(files.length);
          // Only the plain files were counted (a tab or a newline is ASCII);
          // the link and the non-ASCII name went to the full reader.
          expect(got.counted, `${source}, chunks of ${step}`).toBe(files.length - odd.length);
          expect(got.kept).toEqual(odd.map((c) => c.path).sort());
        }
        // The source root's ignore file is never shipped; one below it is a file like any other.
        expect(files.some((c) => c.path === '.diffshipignore')).toBe(false);
        expect(files.some((c) => c.path === 'site/.diffshipignore')).toBe(source === '.');
      }
    },
  );

  it('counts nothing itself when a filter applies', () => {
    const listing = Buffer.from(
      `100644 blob ${'a'.repeat(40)}\tx.txt\x00100644 blob ${'b'.repeat(40)}\ty.txt\x00`,
    );
    const got = counted(listing, { prefix: '', filter: (p) => p !== 'y.txt' }, 5);
    expect(got).toEqual({ files: 1, counted: 0, kept: ['x.txt'] });
  });

  it('leaves a malformed or cut record to the full reader, which refuses it', () => {
    const options = { prefix: '', filter: notIgnoreFile };
    const good = `100644 blob ${'a'.repeat(40)}\tx.txt\x00`;
    // An id of the wrong length, then a tab inside the name where a 40-digit id would end.
    for (const bad of ['100644 blob abc\tx\x00', `100644 blob abc\t${'n'.repeat(36)}\tname\x00`])
      expect(() => counted(Buffer.from(good + bad), options, 1000)).toThrow(/ls-tree gave a record/);
    expect(() => counted(Buffer.from(good + good.slice(0, 20)), options, 1000)).toThrow(
      /ls-tree gave a record/,
    );
  });
});
