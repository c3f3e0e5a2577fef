/**
 * The local transport's re-check of the real parent before each change (issue 10)
 * reads the whole path with realpath(3) once per folder, then re-checks that
 * folder with one stat: many files into one folder cost one realpath, and a
 * folder swapped for a link after it was remembered is still refused.
 */
import * as fs from 'node:fs';
import { mkdirSync, readdirSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LocalTransport } from '../../../src/transport/local/local-transport.js';
import { tempDir } from '../../helpers/git.js';

const realpath = fs.realpathSync.native;
let realpaths = 0;
afterEach(() => {
  fs.realpathSync.native = realpath;
});
function countRealpaths(): void {
  realpaths = 0;
  fs.realpathSync.native = ((p: fs.PathLike, o?: fs.EncodingOption) => {
    realpaths++;
    return realpath(p, o);
  }) as typeof realpath;
}

async function open(): Promise<{ root: string; outside: string; t: LocalTransport }> {
  const base = tempDir('diffship-realparent-');
  const root = join(base, 'target');
  const outside = join(base, 'outside');
  mkdirSync(root);
  mkdirSync(outside);
  const t = new LocalTransport(root);
  await t.connect();
  return { root, outside, t };
}

describe('the real-parent re-check', () => {
  it('costs one realpath per folder, not one per call', async () => {
    const { t } = await open();
    await t.mkdirp('a/b');
    countRealpaths();
    for (let i = 0; i < 100; i++) await t.writeFile(`a/b/f${i}`, Buffer.from('x'), 0o644);
    for (let i = 0; i < 100; i++) await t.rename(`a/b/f${i}`, `a/b/g${i}`);
    expect(realpaths).toBeLessThanOrEqual(2);
  });

  it('a remembered folder swapped for a link to an outside folder is refused; nothing outside changes', async () => {
    const { root, outside, t } = await open();
    await t.mkdirp('a');
    await t.writeFile('a/x', Buffer.from('x'), 0o644); // `a` is now remembered as real
    renameSync(join(root, 'a'), join(root, 'a.real'));
    symlinkSync(outside, join(root, 'a'));
    await expect(t.writeFile('a/y', Buffer.from('pwned'), 0o644)).rejects.toMatchObject({ code: 'E_UNSAFE' });
    await expect(t.rename('a.real/x', 'a/x')).rejects.toMatchObject({ code: 'E_UNSAFE' });
    await expect(t.unlink('a/z')).rejects.toMatchObject({ code: 'E_UNSAFE' });
    expect(readdirSync(outside)).toEqual([]);
  });

  it('a remembered folder removed and made again is checked again and written', async () => {
    const { root, t } = await open();
    await t.mkdirp('a');
    await t.writeFile('a/x', Buffer.from('x'), 0o644);
    rmSync(join(root, 'a'), { recursive: true });
    mkdirSync(join(root, 'a.other'));
    symlinkSync('a.other', join(root, 'a')); // a link inside the target is refused too
    await expect(t.writeFile('a/y', Buffer.from('y'), 0o644)).rejects.toMatchObject({ code: 'E_UNSAFE' });
    rmSync(join(root, 'a'));
    mkdirSync(join(root, 'a'));
    await t.writeFile('a/y', Buffer.from('y'), 0o644);
    expect(readdirSync(join(root, 'a'))).toEqual(['y']);
  });
});
