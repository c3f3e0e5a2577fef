/**
 * Removing a local tree (remove-tree.ts): a small one entry by entry in this process, a big one
 * (a failed first deploy's staging) handed to one `rm -rf` past 2,000 entries, finished one by
 * one where rm fails. Either way the whole tree goes and nothing a link in it points to is
 * touched. Who removed what is seen by strace(1): the unlinks of this process, and those of
 * the `rm` it started.
 */
import { execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { removeTreeAt } from '../../../src/transport/local/remove-tree.js';
import { tempDir } from '../../helpers/git.js';

const lib = fileURLToPath(new URL('../../../lib/transport/local/remove-tree.js', import.meta.url));
const cleanups: string[] = [];
afterEach(() => {
  for (const dir of cleanups.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** `files` files in folders of 100, two deep, each folder with links to `outside` (a folder and a file in it). */
function tree(files: number): { root: string; tree: string; outside: string } {
  const root = tempDir('diffship-remove-tree-');
  cleanups.push(root);
  const outside = join(root, 'outside');
  mkdirSync(outside);
  writeFileSync(join(outside, 'keep.txt'), 'keep\n');
  const dir = join(root, 'tree');
  for (let i = 0; i < files; i++) {
    const folder = join(dir, `d${Math.floor(i / 1000)}`, `e${Math.floor(i / 100) % 10}`);
    if (i % 100 === 0) {
      mkdirSync(folder, { recursive: true });
      // In every folder: whichever removes it (this process or rm) meets links.
      symlinkSync(outside, join(folder, 'to-folder'));
      symlinkSync(join(outside, 'keep.txt'), join(folder, 'to-file'));
    }
    writeFileSync(join(folder, `f${i}.txt`), `${i}\n`);
  }
  return { root, tree: dir, outside };
}

/** A script in `work` that removes `dir` with the built removeTreeAt. */
function removalScript(work: string, dir: string): string {
  const script = join(work, 'child.mjs');
  writeFileSync(
    script,
    `import { removeTreeAt } from ${JSON.stringify(lib)};\nawait removeTreeAt(${JSON.stringify(dir)});\n`,
  );
  return script;
}

/** Remove `dir` in a child process under strace: the unlinks by that process and by an `rm` it started. */
function tracedRemoval(dir: string): { own: number; byRm: number; rmArgs: string[] | null } {
  const work = tempDir('diffship-remove-tree-strace-');
  cleanups.push(work);
  const script = removalScript(work, dir);
  // -ff: a file per process and thread, so no call is split by another's ("<unfinished ...>");
  // strace pads a short call's line before its result.
  const out = join(work, 'trace');
  execFileSync(
    'strace',
    ['-ff', '-qq', '-s', '4096', '-e', 'trace=execve,unlink,unlinkat', '-o', out, process.execPath, script],
    { stdio: 'ignore' },
  );
  let own = 0;
  let byRm = 0;
  let rmArgs: string[] | null = null;
  for (const name of readdirSync(work).filter((n) => n.startsWith('trace.'))) {
    const lines = readFileSync(join(work, name), 'utf8').split('\n');
    const rmLine = lines.find((l) => /^execve\("[^"]*\/rm", \["rm"/.test(l) && l.endsWith('= 0'));
    const unlinks = lines.filter((l) => /^unlink(at)?\(.*\)\s+= 0$/.test(l)).length;
    if (rmLine) {
      rmArgs = [...rmLine.matchAll(/"([^"]*)"/g)].map((m) => m[1]!).slice(1, 5);
      byRm += unlinks;
    } else own += unlinks;
  }
  return { own, byRm, rmArgs };
}

describe('removeTreeAt', () => {
  it('removes a small tree itself: every entry gone, what its links point to kept', async () => {
    const { tree: dir, outside } = tree(150);
    await removeTreeAt(dir);
    expect(existsSync(dir)).toBe(false);
    expect(readFileSync(join(outside, 'keep.txt'), 'utf8')).toBe('keep\n');
    // A missing tree and a single file are fine too.
    await removeTreeAt(dir);
    const file = join(outside, 'other.txt');
    writeFileSync(file, 'x');
    await removeTreeAt(file);
    expect(existsSync(file)).toBe(false);
  });

  it('hands a big tree to one rm -rf past 2,000 entries: all gone, links not followed (strace)', () => {
    const { tree: dir, outside } = tree(5_000);
    const seen = tracedRemoval(dir);
    expect(existsSync(dir)).toBe(false);
    expect(readFileSync(join(outside, 'keep.txt'), 'utf8')).toBe('keep\n');
    expect(seen.rmArgs).toEqual(['rm', '-rf', '--', dir]);
    // This process removed up to its budget (files, and the folders it emptied), rm the rest.
    expect(seen.own).toBeGreaterThan(1_000);
    expect(seen.own).toBeLessThanOrEqual(2_000);
    expect(seen.byRm).toBeGreaterThan(2_900);
  });

  it('finishes one by one where rm fails: all gone, links not followed', () => {
    const { tree: dir, outside } = tree(3_000);
    const work = tempDir('diffship-remove-tree-failing-rm-');
    cleanups.push(work);
    // An `rm` first on PATH that removes nothing and fails, as one refused by the system would.
    const bin = join(work, 'bin');
    mkdirSync(bin);
    writeFileSync(join(bin, 'rm'), '#!/bin/sh\necho "rm: refused" >&2\nexit 1\n', { mode: 0o755 });
    const script = removalScript(work, dir);
    execFileSync(process.execPath, [script], { env: { ...process.env, PATH: `${bin}:${process.env.PATH}` } });
    expect(existsSync(dir)).toBe(false);
    expect(readFileSync(join(outside, 'keep.txt'), 'utf8')).toBe('keep\n');
  });

  it('removes a tree under the budget without starting rm (strace)', () => {
    const { tree: dir } = tree(600);
    const seen = tracedRemoval(dir);
    expect(existsSync(dir)).toBe(false);
    expect(seen.rmArgs).toBeNull();
    expect(seen.own).toBeGreaterThan(600);
  });
});
