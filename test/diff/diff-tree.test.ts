/**
 * `git diff-tree --stdin`, started before the refs resolve: it must answer
 * exactly as `git diff-tree A B` does, and a diff that fails before it runs must
 * not leave it waiting on its stdin.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { diffReleases } from '../../src/diff/diff-releases.js';
import { emptyTreeId, startDiffTree } from '../../src/diff/git.js';
import { git, gitBytes, SH_GIT_COMMAND, tempDir } from '../helpers/git.js';
import { createRepo, type TestRepo } from './git-repo.js';

/** Command lines of this process's children. */
const children = (): string[] => {
  try {
    return execFileSync('ps', ['-o', 'args=', '--ppid', String(process.pid)], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean);
  } catch {
    return []; // ps exits 1 when there are none
  }
};

describe('startDiffTree', () => {
  let r: TestRepo;
  let v1: string;
  let v2: string;
  const tree = (commit: string) => git(r.dir, 'rev-parse', `${commit}^{tree}`);

  beforeAll(() => {
    r = createRepo();
    r.write({ 'a/one.txt': 'one\n', 'a/two.txt': 'two\n'.repeat(20), 'b.txt': 'b\n' });
    v1 = r.commit();
    r.remove('a/two.txt');
    r.write({ 'a/moved.txt': 'two\n'.repeat(20), 'b.txt': 'b 2\n', 'a/new\nline': 'x\n' });
    v2 = r.commit();
  });
  afterAll(() => r.cleanup());

  it.each([
    ['renames, whole tree', { renames: true, prefix: '' }, []],
    ['no renames', { renames: false, prefix: '' }, ['--no-renames']],
    ['a source prefix', { renames: true, prefix: 'a/' }, ['--', 'a/']],
  ])('answers as git diff-tree A B does: %s', async (_name, options, extra) => {
    const { stdout } = await startDiffTree(r.dir, options).run(tree(v1), tree(v2));
    const [flags, paths] = extra[0] === '--' ? [[], extra] : [extra, []];
    const expected = gitBytes(r.dir, ['diff-tree', '-r', '-z', '--raw', '-M', ...flags, v1, v2, ...paths]);
    expect(stdout.toString('latin1')).toBe(expected.toString('latin1'));
    expect(stdout.length).toBeGreaterThan(0);
  });

  it('compares with the empty tree, and answers nothing for equal trees', async () => {
    const all = await startDiffTree(r.dir, { renames: true, prefix: '' }).run(emptyTreeId(40), tree(v1));
    expect(
      all.stdout
        .toString('utf8')
        .split('\0')
        .filter((f) => !f.startsWith(':') && f),
    ).toEqual(['a/one.txt', 'a/two.txt', 'b.txt']);
    const none = await startDiffTree(r.dir, { renames: true, prefix: '' }).run(tree(v2), tree(v2));
    expect(none.stdout.length).toBe(0);
  });

  it('keeps the answer for guessed commits only when they are the commits asked for', async () => {
    const options = { renames: true, prefix: '' };
    const expected = gitBytes(r.dir, ['diff-tree', '-r', '-z', '--raw', '-M', v1, v2]).toString('latin1');
    const commits = { from: v1, to: v2 };
    // Guessed right: the answer for the commits, its leading commit id cut off.
    const right = await startDiffTree(r.dir, options, commits).run(
      tree(v1),
      tree(v2),
      undefined,
      true,
      commits,
    );
    expect(right.stdout.toString('latin1')).toBe(expected);
    // Guessed wrong (a ref moved before the lookup): a fresh diff-tree for the trees asked for.
    const stale = { from: v2, to: v1 };
    const wrong = await startDiffTree(r.dir, options, stale).run(
      tree(v1),
      tree(v2),
      undefined,
      true,
      commits,
    );
    expect(wrong.stdout.toString('latin1')).toBe(expected);
    // Asked for trees that are no commits' (a built release): the guess is not used either.
    const trees = await startDiffTree(r.dir, options, commits).run(tree(v1), tree(v2));
    expect(trees.stdout.toString('latin1')).toBe(expected);
    // Streamed, the header goes as well; nothing changed: git writes no header at all.
    const chunks: Buffer[] = [];
    await startDiffTree(r.dir, options, commits).run(
      tree(v1),
      tree(v2),
      (c) => chunks.push(c),
      false,
      commits,
    );
    expect(Buffer.concat(chunks).toString('latin1')).toBe(expected);
    const same = { from: v2, to: v2 };
    const none = await startDiffTree(r.dir, options, same).run(tree(v2), tree(v2), undefined, true, same);
    expect(none.stdout.length).toBe(0);
  });

  it('diffReleases gives diff-tree the commits read from the ref files, and keeps its answer', async () => {
    // A `git` first on PATH that logs each command and what diff-tree reads on stdin.
    const bin = tempDir('diffship-git-log-');
    const real = execFileSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).trim();
    writeFileSync(
      join(bin, 'git'),
      `#!/bin/sh\n${SH_GIT_COMMAND}\necho "$cmd" >> '${bin}/calls'\n` +
        `if [ "$cmd" = diff-tree ]; then tee -a '${bin}/stdin' | '${real}' "$@"; else exec '${real}' "$@"; fi\n`,
      { mode: 0o755 },
    );
    const path = process.env.PATH;
    const expected = await diffReleases({ repo: r.dir, from: v1, to: v2 });
    process.env.PATH = `${bin}:${path ?? ''}`;
    try {
      git(r.dir, 'tag', '-f', 'guess-v1', v1);
      for (const from of [v1, 'guess-v1']) {
        rmSync(join(bin, 'calls'), { force: true });
        rmSync(join(bin, 'stdin'), { force: true });
        expect(await diffReleases({ repo: r.dir, from, to: 'main' })).toEqual(expected);
        // One diff-tree (the guess was kept), given the commits (not the trees the lookup found).
        const calls = readFileSync(join(bin, 'calls'), 'utf8').split('\n').filter(Boolean);
        expect(calls.sort()).toEqual(['cat-file', 'diff-tree']);
        expect(readFileSync(join(bin, 'stdin'), 'utf8')).toBe(`${v2} ${v1}\n`);
      }
    } finally {
      process.env.PATH = path;
      rmSync(bin, { recursive: true, force: true });
    }
  });

  it('a diff whose ref does not resolve leaves no git diff-tree behind', async () => {
    const before = children().filter((c) => c.includes('diff-tree')).length;
    await expect(diffReleases({ repo: r.dir, from: 'v404', to: v2 })).rejects.toMatchObject({
      code: 'E_REF',
    });
    // Cancelled, it reads the end of its stdin and exits at once.
    for (let i = 0; i < 50 && children().some((c) => c.includes('diff-tree')); i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(children().filter((c) => c.includes('diff-tree')).length).toBe(before);
    expect(before).toBe(0);
  });
});
