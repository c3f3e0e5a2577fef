/**
 * What a rollback finds above the files it puts back: a link there is refused before anything
 * is written through it; a file standing where a folder must be goes. The restore looks at
 * every file's folders in one pass (backup.ts `clearParents`), so both are checked for all
 * files before the first copy.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LocalTransport } from '../../src/transport/local/local-transport.js';
import { TargetSession } from '../../src/apply/session.js';
import { makeRepo } from '../helpers/repo.js';
import { tempDir } from '../helpers/git.js';

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

async function session(target: string, command: 'deploy' | 'rollback') {
  return TargetSession.open({ transport: new LocalTransport(target), stateDir: '.diffship', command });
}

/** A target deployed at v1 then v2 (every file of `app/deep/` and `app/top.txt` changed). */
async function deployedTwice() {
  const repo = makeRepo();
  const target = tempDir('diffship-restore-');
  const outside = tempDir('diffship-outside-');
  cleanups.push(repo.cleanup, () => rmSync(target, { recursive: true, force: true }));
  cleanups.push(() => rmSync(outside, { recursive: true, force: true }));
  const v1 = { 'app/deep/a.txt': 'a1\n', 'app/deep/b.txt': 'b1\n', 'app/top.txt': 't1\n' };
  const v2 = { 'app/deep/a.txt': 'a2\n', 'app/deep/b.txt': 'b2\n', 'app/top.txt': 't2\n' };
  for (const tree of [v1, v2]) {
    const to = repo.commit(tree);
    const s = await session(target, 'deploy');
    try {
      await s.apply(await s.plan({ repo: repo.dir, to, mode: 'additive', onDrift: 'fail' }), repo.dir);
    } finally {
      await s.close();
    }
  }
  return { target, outside };
}

async function rollback(target: string) {
  const s = await session(target, 'rollback');
  try {
    return await s.rollback();
  } finally {
    await s.close();
  }
}

describe('a rollback and the folders above what it puts back', () => {
  it('refuses a folder turned into a link: E_UNSAFE naming both, nothing written through it or beside it', async () => {
    const { target, outside } = await deployedTwice();
    // app/deep moved out of the target and linked back: a rollback writing there would write outside.
    renameSync(join(target, 'app/deep'), join(outside, 'deep'));
    symlinkSync(join(outside, 'deep'), join(target, 'app/deep'));
    const error = await rollback(target).then(
      () => null,
      (e: unknown) => e as { code?: string; message: string },
    );
    expect(error?.code).toBe('E_UNSAFE');
    expect(error?.message).toMatch(/app\/deep is a symlink, so diffship will not restore app\/deep\/a\.txt/);
    expect(readFileSync(join(outside, 'deep/a.txt'), 'utf8')).toBe('a2\n');
    expect(readFileSync(join(outside, 'deep/b.txt'), 'utf8')).toBe('b2\n');
    // Every folder was looked at before the first copy: app/top.txt, beside the link, is not put back either.
    expect(readFileSync(join(target, 'app/top.txt'), 'utf8')).toBe('t2\n');
  });

  it('removes a file standing where a folder must be, then puts the files back below the folder', async () => {
    const { target } = await deployedTwice();
    rmSync(join(target, 'app/deep'), { recursive: true });
    writeFileSync(join(target, 'app/deep'), 'in the way\n');
    await rollback(target);
    expect(readdirSync(join(target, 'app/deep')).sort()).toEqual(['a.txt', 'b.txt']);
    expect(readFileSync(join(target, 'app/deep/a.txt'), 'utf8')).toBe('a1\n');
    expect(readFileSync(join(target, 'app/deep/b.txt'), 'utf8')).toBe('b1\n');
    expect(readFileSync(join(target, 'app/top.txt'), 'utf8')).toBe('t1\n');
  });
});
