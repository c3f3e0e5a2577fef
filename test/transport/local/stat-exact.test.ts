/**
 * statExactMany: the authoritative plan's one exact lstat per release file, in
 * one call (issue 13). A real folder: the batch must say exactly what statExact
 * says path by path, in order, across the pauses it takes, and refuse what
 * statExact refuses. Half of a big batch may go to the writer thread: the
 * same answers, and the same where that thread fails or cannot say.
 */
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalTransport } from '../../../src/transport/local/local-transport.js';
import { statExactMany } from '../../../src/transport/local/stat-exact.js';
import { WriterThread } from '../../../src/transport/local/writer-thread.js';
import { tempDir } from '../../helpers/git.js';

let root: string;
let t: LocalTransport;
beforeAll(async () => {
  root = tempDir('diffship-stat-exact-');
  mkdirSync(path.join(root, 'many'));
  // More than one turn's worth (2,048), so the batch pauses at least once.
  for (let i = 0; i < 2_500; i++) writeFileSync(path.join(root, 'many', `f${i}`), 'x'.repeat(i % 7));
  writeFileSync(path.join(root, 'file'), 'data\n');
  symlinkSync('file', path.join(root, 'link'));
  t = new LocalTransport(root);
  await t.connect();
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('LocalTransport.statExactMany', () => {
  it('gives what statExact gives, path by path: files, links (not followed), absent paths', async () => {
    const rels = [
      'link',
      'file',
      'missing',
      'file/below-a-file',
      'many',
      ...Array.from({ length: 2_500 }, (_, i) => `many/f${2_499 - i}`),
    ];
    const map = await t.statExactMany(rels);
    const batch = rels.map((r) => map.get(r));
    const single = await Promise.all(rels.map((r) => t.statExact(r)));
    expect(map.size).toBe(rels.length);
    expect(batch).toEqual(single);
    expect(batch[0]!.mode & 0o170000).toBe(0o120000);
    expect(batch[1]!.size).toBe(5);
    expect(batch.slice(2, 4)).toEqual([null, null]);
    expect(batch[5]!.size).toBe(2_499 % 7);
    expect(new Set(batch.slice(5).map((s) => s!.ino)).size).toBe(2_500);
  });

  it('refuses an unsafe path as statExact does, touching nothing', async () => {
    await expect(t.statExactMany(['file', '../etc/passwd'])).rejects.toMatchObject({ code: 'E_UNSAFE' });
    await expect(t.statExactMany(['a//b'])).rejects.toThrow(/empty path segment/);
  });
});

describe('statExactMany: half of a big batch on the writer thread', () => {
  // The odd kinds in the half the thread takes.
  const rels = [
    ...Array.from({ length: 300 }, (_, i) => `many/f${i}`),
    'many',
    'link',
    'file',
    'missing',
    'file/below-a-file',
    ...Array.from({ length: 295 }, (_, i) => `many/f${1_000 + i}`),
  ];
  const one = (rel: string) => t.statExact(rel);

  it('the thread takes the second half and answers exactly what lstat says', async () => {
    const thread = new WriterThread();
    try {
      const asked: string[][] = [];
      const map = await statExactMany(root, rels, one, (absolute) => {
        asked.push(absolute);
        return thread.lstatMany(absolute);
      });
      expect(asked).toEqual([rels.slice(300).map((r) => path.join(root, r))]);
      expect(rels.map((r) => map.get(r))).toEqual(await Promise.all(rels.map(one)));
      expect(map.get('link')!.mode & 0o170000).toBe(0o120000);
      expect(map.get('many')!.mode & 0o170000).toBe(0o040000);
      expect([map.get('missing'), map.get('file/below-a-file')]).toEqual([null, null]);
    } finally {
      await thread.close();
    }
  });

  it('a thread that fails, or cannot say for a path, leaves those paths to this one: the same answers', async () => {
    const expected = await Promise.all(rels.map(one));
    const failed = await statExactMany(root, rels, one, () => Promise.reject(new Error('thread gone')));
    expect(rels.map((r) => failed.get(r))).toEqual(expected);
    const unsure = await statExactMany(root, rels, one, async (absolute) =>
      absolute.map(() => 'error' as const),
    );
    expect(rels.map((r) => unsure.get(r))).toEqual(expected);
  });

  it('a small batch, or one with an unsafe name, stays on this thread', async () => {
    let asked = 0;
    const far = async (absolute: string[]) => {
      asked++;
      return absolute.map(() => null);
    };
    expect((await statExactMany(root, rels.slice(0, 63), one, far)).get('many/f0')).not.toBeNull();
    await expect(statExactMany(root, [...rels, '../etc/passwd'], one, far)).rejects.toMatchObject({
      code: 'E_UNSAFE',
    });
    expect(asked).toBe(0);
  });

  it('a local target whose writer thread runs (a big staging) splits its batches', async () => {
    const u = new LocalTransport(root);
    await u.connect();
    try {
      await u.writeMany([{ rel: 'written', mode: 0o644, data: Buffer.from('w\n') }], 'sha1');
      const map = await u.statExactMany(rels);
      expect(rels.map((r) => map.get(r))).toEqual(await Promise.all(rels.map(one)));
    } finally {
      await u.close();
    }
  });
});
