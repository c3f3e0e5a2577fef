/**
 * observeInto looks at a few paths together with their folders (issue 13: one wait, not
 * two), and never uses what it saw below a link or a missing folder. A real local target;
 * its lstats are counted by waits: a wait starts when an lstat is asked with none outstanding.
 */
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { countLstatWaits } from '../helpers/lstat-waits.js';
import { observeInto } from '../../src/observe/observe-paths.js';
import { layout } from '../../src/apply/layout.js';
import { LocalTransport } from '../../src/transport/local/local-transport.js';
import type { Observed } from '../../src/plan/types.js';
import { tempDir } from '../helpers/git.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function observe(build: (dir: string) => void, paths: string[]) {
  const dir = tempDir('diffship-observe-paths-');
  dirs.push(dir);
  build(dir);
  const t = new LocalTransport(dir);
  await t.connect({ create: false });
  const waits = countLstatWaits(t);
  const into = new Map<string, Observed>();
  await observeInto({ transport: t, layout: layout('.diffship'), concurrency: 16 }, into, paths, 'sha1');
  return { into, waits: waits() };
}

describe('observeInto', () => {
  it('looks at files and their folders in one wait', async () => {
    const { into, waits } = await observe(
      (dir) => {
        mkdirSync(path.join(dir, 'a/b'), { recursive: true });
        writeFileSync(path.join(dir, 'a/b/f.txt'), 'f\n');
        writeFileSync(path.join(dir, 'a/g.txt'), 'g\n');
      },
      ['a/b/f.txt', 'a/g.txt', 'a/b/gone.txt', 'x/y/z.txt'],
    );
    expect([...into.keys()].sort()).toEqual(['a/b/f.txt', 'a/g.txt']);
    expect(into.get('a/b/f.txt')).toMatchObject({
      type: 'file',
      blob: expect.stringMatching(/^[0-9a-f]{40}$/),
    });
    expect(waits).toBe(1);
  });

  it('sees nothing below a linked folder, though the file is there through the link', async () => {
    const elsewhere = tempDir('diffship-observe-paths-elsewhere-');
    dirs.push(elsewhere);
    writeFileSync(path.join(elsewhere, 'f.txt'), 'outside\n');
    const { into } = await observe((dir) => symlinkSync(elsewhere, path.join(dir, 'a')), ['a/f.txt']);
    expect(into.has('a/f.txt')).toBe(false);
  });
});
