/**
 * The shared parts of the staged-tree tests (local and SSH): one additive
 * deploy through a session, releases that create folders, and what a
 * recording transport shows of the renames into the target.
 */
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { TargetSession } from '../../src/apply/session.js';
import type { Transport } from '../../src/transport/transport.js';
import { makeRepo, type Tree } from './repo.js';
import { tempDir } from './git.js';
import type { recording } from './recording.js';

export async function deploy(transport: Transport, repoDir: string, to: string) {
  const s = await TargetSession.open({ transport, stateDir: '.diffship', command: 'deploy' });
  try {
    const plan = await s.plan({ repo: repoDir, to, mode: 'additive', onDrift: 'fail' });
    return await s.apply(plan, repoDir);
  } finally {
    await s.close();
  }
}

/** v1, then v2 creating folders `new/d0`–`new/d3` with `files` files, a tool, a link and `zz/`. */
export function releases(files: number): { v1: Tree; v2: Tree } {
  const v1: Tree = { 'a.txt': 'one', 'old/keep.txt': 'kept' };
  const v2: Tree = { 'a.txt': 'two', 'old/keep.txt': 'kept', 'old/more/x.txt': 'x' };
  for (let i = 0; i < files; i++) v2[`new/d${i % 4}/f${i}.txt`] = `file ${i}\n`.repeat(i + 1);
  v2['new/tool.sh'] = { content: '#!/bin/sh\n', mode: 0o755 };
  v2['new/current'] = { link: 'd0/f0.txt' };
  v2['zz/only.txt'] = 'z';
  return { v1, v2 };
}

export const stagingLeft = (target: string) => {
  const dir = join(target, '.diffship/staging');
  return existsSync(dir) ? readdirSync(dir) : [];
};

/** The renames from staging into the target (not into the state folder). */
export const intoTarget = (calls: ReturnType<typeof recording>['calls']) =>
  calls.filter((c) => c.op === 'rename' && c.path.includes('/staging/') && !c.to.startsWith('.diffship'));

/** A fresh repository and target folder (`prefix`), both removed by the caller's `cleanups`. */
export function setup(prefix: string, cleanups: Array<() => void>) {
  const repo = makeRepo();
  const target = tempDir(prefix);
  cleanups.push(repo.cleanup, () => rmSync(target, { recursive: true, force: true }));
  return { repo, target };
}
