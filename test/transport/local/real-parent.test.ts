/**
 * The local transport's re-check of the real parent before each change (issue 10)
 * reads the whole path with realpath(3) once per folder, then re-checks that
 * folder with one stat: many files into one folder cost one realpath, and a
 * folder swapped for a link after it was remembered is still refused.
 * (The local chmod that skips a mode already set is checked here too: it spares the same fleet work.)
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

  it('a new folder inside a remembered one costs no realpath: deep state-folder paths stay cheap', async () => {
    const { t } = await open();
    countRealpaths();
    await t.mkdirp('s/a/b/c/d');
    for (const dir of ['s', 's/a', 's/a/b', 's/a/b/c', 's/a/b/c/d'])
      await t.writeFile(`${dir}/f`, Buffer.from('x'), 0o644);
    await t.rename('s/a/b/c/d/f', 's/a/b/c/d/g');
    // The root was resolved at connect: every folder below it is checked from the one above.
    expect(realpaths).toBe(0);
  });

  it('a folder made a link inside a remembered folder is refused without a realpath', async () => {
    const { root, outside, t } = await open();
    await t.mkdirp('a');
    await t.writeFile('a/x', Buffer.from('x'), 0o644); // `a` is now remembered as real
    symlinkSync(outside, join(root, 'a', 'b'));
    countRealpaths();
    await expect(t.writeFile('a/b/y', Buffer.from('pwned'), 0o644)).rejects.toMatchObject({
      code: 'E_UNSAFE',
    });
    await expect(t.rename('a/x', 'a/b/x')).rejects.toMatchObject({ code: 'E_UNSAFE' });
    expect(realpaths).toBe(0);
    expect(readdirSync(outside)).toEqual([]);
  });

  it('the root swapped for a link after connect is caught by the full check', async () => {
    const { root, outside, t } = await open();
    await t.mkdirp('a');
    await t.writeFile('a/x', Buffer.from('x'), 0o644);
    renameSync(root, `${root}.real`);
    symlinkSync(outside, root);
    mkdirSync(join(outside, 'a'));
    await expect(t.writeFile('a/y', Buffer.from('pwned'), 0o644)).rejects.toMatchObject({ code: 'E_UNSAFE' });
    await expect(t.writeFile('top', Buffer.from('pwned'), 0o644)).rejects.toMatchObject({ code: 'E_UNSAFE' });
    expect(readdirSync(join(outside, 'a'))).toEqual([]);
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

describe('chmod of the local transport', () => {
  it('leaves a file already at the mode untouched (no chmod call: its ctime stays); another mode is set', async () => {
    const { root, t } = await open();
    await t.mkdirp('d');
    fs.chmodSync(join(root, 'd'), 0o755);
    const ctime = () => fs.statSync(join(root, 'd'), { bigint: true }).ctimeNs;
    const before = ctime();
    await new Promise((r) => setTimeout(r, 20));
    await t.chmod('d', 0o755);
    expect(ctime()).toBe(before);
    await t.chmod('d', 0o700);
    expect(ctime()).not.toBe(before);
    expect(fs.statSync(join(root, 'd')).mode & 0o7777).toBe(0o700);
  });
});
