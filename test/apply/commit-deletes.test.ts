/**
 * A commit's deletes (commit-deletes.ts) on a real local target: the planner's come sorted,
 * but a plan made by a library caller may list a path twice, anywhere. Each path is asked to
 * go once, and the folders they empty go after them.
 */
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { commitDeletes } from '../../src/apply/commit-deletes.js';
import { LocalTransport } from '../../src/transport/local/local-transport.js';
import { tempDir } from '../helpers/git.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function target(files: string[]): Promise<{ dir: string; t: LocalTransport }> {
  const dir = tempDir('diffship-commit-deletes-');
  dirs.push(dir);
  for (const f of files) {
    mkdirSync(join(dir, f, '..'), { recursive: true });
    writeFileSync(join(dir, f), `${f}\n`);
  }
  const t = new LocalTransport(dir);
  await t.connect();
  return { dir, t };
}

describe('commitDeletes', () => {
  it.each([
    ['sorted, a repeat next to its first', ['a/x', 'a/x', 'b/c/y', 'b/c/z']],
    ['in any order, a repeat anywhere', ['b/c/z', 'a/x', 'b/c/y', 'a/x', 'b/c/z']],
  ])('%s: each path asked to go once, emptied folders gone, the rest kept', async (_, order) => {
    const { dir, t } = await target(['a/x', 'b/c/y', 'b/c/z', 'b/keep']);
    const asked: string[] = [];
    const lstat = t.lstat.bind(t);
    t.lstat = async (rel) => {
      if (!rel.endsWith('keep') && ['a/x', 'b/c/y', 'b/c/z'].includes(rel)) asked.push(rel);
      return lstat(rel);
    };
    try {
      const n = await commitDeletes(
        t,
        order.map((path) => ({ path })),
        new Set(),
        4,
      );
      expect(n).toBe(3);
      expect(asked.sort()).toEqual(['a/x', 'b/c/y', 'b/c/z']);
      expect(['a', 'b/c', 'b/c/y'].map((p) => existsSync(join(dir, p)))).toEqual([false, false, false]);
      expect(existsSync(join(dir, 'b/keep'))).toBe(true);
    } finally {
      await t.close();
    }
  });

  it("goes a chunk at a time in path order: a folder in a file's place first, its files after it", async () => {
    // `d` was a file of the release and is a folder now: deleted whole, then `d/x` finds nothing.
    const { dir, t } = await target(['a/1', 'a/2', 'd/x', 'd/y', 'e/1', 'e/2', 'e/3', 'f/keep']);
    try {
      const planned = ['a/1', 'a/2', 'd', 'd/x', 'e/1', 'e/2', 'e/3'].map((path) => ({ path }));
      expect(await commitDeletes(t, planned, new Set(), 4, 3)).toBe(7);
      expect(['a', 'd', 'e'].map((p) => existsSync(join(dir, p)))).toEqual([false, false, false]);
      expect(existsSync(join(dir, 'f/keep'))).toBe(true);
    } finally {
      await t.close();
    }
  });
});
