/**
 * A release listing's compact file objects (diff/listed-files.ts): a first deploy's diff
 * (`diffWith` from the empty tree, read from ls-tree) gives, file by file, the same path,
 * status, mode and blob id as the plain changes of `diffReleases` (diff-tree), and the same
 * JSON; also with SHA-256 ids, and for a listing of more files than one table chunk holds;
 * a path too long for the path column (path-column.ts) is refused, as a bad id is.
 */
import v8 from 'node:v8';
import vm from 'node:vm';
import { afterAll, describe, expect, it } from 'vitest';
import { makeRepo, type Tree } from '../helpers/repo.js';
import { diffReleases, diffWith } from '../../src/diff/diff-releases.js';
import { ListedFiles } from '../../src/diff/listed-files.js';
import { MAX_PATH_BYTES } from '../../src/diff/path-column.js';

const repos: Array<ReturnType<typeof makeRepo>> = [];
afterAll(() => repos.forEach((r) => r.cleanup()));

const plain = (c: { status: string; path: string; mode?: string; blob?: string }) => ({
  status: c.status,
  path: c.path,
  mode: c.mode,
  blob: c.blob,
});

describe('a listing of compact files', () => {
  for (const objectFormat of ['sha1', 'sha256'] as const) {
    it(`holds each file's path, status, mode and blob id (${objectFormat})`, async () => {
      const repo = makeRepo({ objectFormat });
      repos.push(repo);
      const tree: Tree = {
        'a.txt': 'a\n',
        'dir/é.txt': 'é\n',
        'dir/link': { link: '../a.txt' },
        'run.sh': { content: '#!/bin/sh\n', mode: 0o755 },
      };
      for (let i = 0; i < 40; i++) tree[`many/f-${i}.txt`] = `${i}\n`;
      const to = repo.commit(tree);
      const listed = await diffWith(null, { repo: repo.dir, from: null, to });
      const expected = await diffReleases({ repo: repo.dir, from: null, to });
      expect(listed.changes.length).toBe(44);
      // Compact: the path, id and mode are not the object's own fields.
      expect(Object.keys(listed.changes[0]!)).not.toContain('blob');
      expect(Object.keys(listed.changes[0]!)).not.toContain('path');
      expect(listed.changes.map(plain)).toEqual(expected.changes.map(plain));
      expect(JSON.stringify(listed.changes)).toBe(JSON.stringify(expected.changes));
      const run = listed.changes.find((c) => c.path === 'run.sh')!;
      expect(run.status === 'added' && run.mode).toBe('100755');
      expect(listed.counts).toEqual(expected.counts);
    });
  }

  it('keeps no string per file on the heap: ~41 bytes a file (its object and its slot; 110 when it kept its path)', () => {
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    const count = 50_000;
    const id = Buffer.from('ab'.repeat(20), 'latin1');
    gc();
    const before = process.memoryUsage().heapUsed;
    const table = new ListedFiles(40);
    const files = [];
    // Each path made here and dropped: a file that kept it would hold its 56-72 bytes.
    for (let i = 0; i < count; i++)
      files.push(
        table.add(`workflows/team-${String(i >> 8).padStart(4, '0')}/flow-${i}.xml`, '100644', id, 0)!,
      );
    gc();
    const perFile = (process.memoryUsage().heapUsed - before) / count;
    expect(perFile).toBeLessThan(60);
    expect(files[count - 1]!.path).toBe(`workflows/team-0195/flow-${count - 1}.xml`);
  });

  it('keeps ids past one chunk of its table, and refuses what is not lowercase hex', () => {
    const table = new ListedFiles(40);
    const ids: string[] = [];
    const files = [];
    for (let i = 0; i < 20_000; i++) {
      const id = (i.toString(16).padStart(8, '0') + 'ab'.repeat(16)).slice(0, 40);
      ids.push(id);
      files.push(table.add(`f${i}`, i % 3 === 0 ? '100755' : '100644', Buffer.from(`x${id}`, 'latin1'), 1)!);
    }
    files.forEach((f, i) => {
      expect(f.path).toBe(`f${i}`);
      expect(f.blob).toBe(ids[i]);
      expect(f.mode).toBe(i % 3 === 0 ? '100755' : '100644');
    });
    expect(table.add('g', '100644', Buffer.from('A'.repeat(40), 'latin1'), 0)).toBeUndefined();
    expect(table.add('g', '040000', Buffer.from('a'.repeat(40), 'latin1'), 0)).toBeUndefined();
    // A refused record takes no slot: the next one is read back right.
    expect(table.add('h', '100644', Buffer.from('c'.repeat(40), 'latin1'), 0)!.blob).toBe('c'.repeat(40));
    expect(files[19_999]!.blob).toBe(ids[19_999]);
    // A path too long for the column is refused too, and takes no slot.
    expect(
      table.add(`x/${'n'.repeat(MAX_PATH_BYTES)}`, '100644', Buffer.from('d'.repeat(40), 'latin1'), 0),
    ).toBe(undefined);
    expect(table.add('i', '100644', Buffer.from('e'.repeat(40), 'latin1'), 0)!.path).toBe('i');
    // So it is in a small listing, whose paths are still strings.
    const small = new ListedFiles(40);
    const long = `x/${'é'.repeat(MAX_PATH_BYTES / 2)}`;
    expect(small.add(long, '100644', Buffer.from('d'.repeat(40), 'latin1'), 0)).toBeUndefined();
    expect(small.add('j', '100644', Buffer.from('e'.repeat(40), 'latin1'), 0)!.path).toBe('j');
    expect(files[19_998]!.path).toBe('f19998');
  });
});
