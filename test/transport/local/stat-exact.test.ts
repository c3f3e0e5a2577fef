/**
 * statExactMany: the authoritative plan's one exact lstat per release file, in
 * one call (issue 13). A real folder: the batch must say exactly what statExact
 * says path by path, in order, across the pauses it takes, and refuse what
 * statExact refuses.
 */
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalTransport } from '../../../src/transport/local/local-transport.js';
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
