/**
 * checkParents looks at a few parents all at once (issue 13: one wait, not one per depth),
 * and what it then saw below a link or a file is never used. A real local target; its
 * lstats are counted by waits: a wait starts when an lstat is asked with none outstanding.
 */
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { countLstatWaits } from '../helpers/lstat-waits.js';
import { checkParents } from '../../src/apply/safe-path.js';
import { LocalTransport } from '../../src/transport/local/local-transport.js';
import { tempDir } from '../helpers/git.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A connected local target at a new folder, with its lstats counted in waits. */
async function target(): Promise<{ dir: string; t: LocalTransport; waits: () => number }> {
  const dir = tempDir('diffship-check-parents-');
  dirs.push(dir);
  const t = new LocalTransport(dir);
  await t.connect({ create: true });
  const waits = countLstatWaits(t);
  return { dir, t, waits };
}

describe('checkParents', () => {
  it('looks at three depths of existing folders in one wait', async () => {
    const { dir, t, waits } = await target();
    mkdirSync(path.join(dir, 'a/b/c'), { recursive: true });
    mkdirSync(path.join(dir, 'x'));
    const report = await checkParents(t, ['a/b/c/f.txt', 'a/b/g.txt', 'x/y/z/h.txt'], new Set());
    expect(report).toEqual({ missing: ['x/y', 'x/y/z'], replaced: [] });
    expect(waits()).toBe(1);
  });

  it('refuses a link above a path, whatever was seen through it', async () => {
    const { dir, t } = await target();
    const elsewhere = tempDir('diffship-check-parents-elsewhere-');
    dirs.push(elsewhere);
    mkdirSync(path.join(elsewhere, 'b'));
    symlinkSync(elsewhere, path.join(dir, 'a'));
    await expect(checkParents(t, ['a/b/f.txt'], new Set())).rejects.toMatchObject({ code: 'E_UNSAFE' });
  });

  it('a file the release deletes stands for missing folders below it', async () => {
    const { dir, t } = await target();
    writeFileSync(path.join(dir, 'a'), 'a file\n');
    const report = await checkParents(t, ['a/b/c/f.txt'], new Set(['a']));
    expect(report).toEqual({ missing: ['a', 'a/b', 'a/b/c'], replaced: ['a'] });
  });

  it('keeps, of the deletes given one by one, those among the parents: a file in the way, not 10,000 strays', async () => {
    const { dir, t } = await target();
    writeFileSync(path.join(dir, 'a'), 'a file\n');
    function* deletes(): Generator<string> {
      for (let i = 0; i < 10_000; i++) yield `junk/s${i}`;
      yield 'a';
    }
    const report = await checkParents(t, ['a/b/f.txt', 'junk/s1'], deletes());
    expect(report).toEqual({ missing: ['a', 'junk', 'a/b'], replaced: ['a'] });
    // Not deleted: the same file in the way is refused.
    await expect(checkParents(t, ['a/b/f.txt'], ['junk/s1'])).rejects.toMatchObject({
      code: 'E_UNSAFE',
    });
  });

  it('past its bound, looks depth by depth: one wait per depth', async () => {
    const { dir, t, waits } = await target();
    mkdirSync(path.join(dir, 'a'));
    const paths = Array.from({ length: 300 }, (_, i) => `a/d${i}/f.txt`);
    const report = await checkParents(t, paths, new Set());
    expect(report.missing).toHaveLength(300);
    expect(waits()).toBe(2);
  });
});
