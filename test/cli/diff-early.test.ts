import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { preParseDiff, startDiffEarly } from '../../src/cli/diff-early.js';
import { diffReleases } from '../../src/diff/diff-releases.js';
import { dropEarly, startEarly, type EarlyGit } from '../../src/diff/early-git.js';
import { gitEnv, startDiffTree } from '../../src/diff/git.js';
import { diffTreeArgs } from '../../src/diff/requests.js';
import { createRepo, type TestRepo } from '../diff/git-repo.js';
import { git, SH_GIT_COMMAND, tempDir } from '../helpers/git.js';
import { runCli } from '../helpers/cli.js';

const early = (): EarlyGit[] =>
  (globalThis as Record<symbol, EarlyGit[] | undefined>)[Symbol.for('diffship.early-git')] ?? [];
const argv = (...args: string[]) => ['node', 'diffship', ...args];

describe('preParseDiff', () => {
  it('reads the diff command lines it fully understands', () => {
    expect(preParseDiff(['diff'])).toEqual({ repo: '.', to: 'HEAD', renames: true });
    expect(
      preParseDiff([
        '--repo',
        'r',
        'diff',
        '--from',
        'v1',
        '--to',
        'v2',
        '--source',
        'wf',
        '--include',
        '*.json',
        '--include',
        'a/**',
        '--exclude',
        'x',
        '--json',
        '--no-renames',
      ]),
    ).toEqual({ repo: 'r', from: 'v1', to: 'v2', source: 'wf', renames: false });
    expect(preParseDiff(['diff', '--json', '--repo', 'r'])).toMatchObject({ repo: 'r' });
  });

  it.each([
    [[]],
    [['deploy', '--to', 'v2']],
    [['diff', '--help']],
    [['diff', '-h']],
    [['diff', '--from=v1']],
    [['diff', '--from', 'v1', '--from', 'v2']],
    [['--repo', 'a', 'diff', '--repo', 'b']],
    [['diff', '--from', '-v1']],
    [['diff', '--from']],
    [['diff', '--renames']],
    [['diff', 'extra']],
    [['diff', '--', '--json']],
    [['--json', 'diff']],
    [['--from', 'v1', 'diff']],
    [['diff', 'diff']],
    [['-V']],
  ])('leaves %j to the normal path', (args) => {
    expect(preParseDiff(args)).toBeNull();
  });
});

describe('git processes started before the CLI loads', () => {
  let r: TestRepo;
  let v1: string;
  let v2: string;
  const tree = (c: string) => git(r.dir, 'rev-parse', `${c}^{tree}`);

  beforeAll(() => {
    r = createRepo();
    r.write({ 'wf/a.json': 'a\n', 'wf/b.json': Array.from({ length: 30 }, (_, i) => `${i}\n`).join('') });
    r.write({ 'other.txt': 'x\n', 'wf/.diffshipignore': '*.tmp\n' });
    v1 = r.commit();
    r.remove('wf/b.json');
    r.write({
      'wf/a.json': 'a 2\n',
      'wf/c.json': `${Array.from({ length: 30 }, (_, i) => `${i}\n`).join('')}+\n`,
      'wf/x.tmp': 'tmp\n',
      'other.txt': 'y\n',
    });
    v2 = r.commit();
  });
  afterAll(() => r.cleanup());
  afterEach(() => dropEarly());
  // The launcher waits at most 200 ms for the lookups (WAIT_MS); on a loaded machine they answer later,
  // and diff-tree is fed then. Wait for the lookups' output to end before looking at what was fed.
  const lookupsAnswered = async () => {
    const lookups = early()[0]!.child;
    if (!lookups.stdout.readableEnded) await new Promise((resolve) => lookups.stdout.once('end', resolve));
    await new Promise((resolve) => setImmediate(resolve));
  };

  it('gives diff-tree its trees as soon as the lookups answer, and the diff takes both over', async () => {
    // `HEAD~1` is an expression: no commit is read from the ref files, so diff-tree waits for the lookups.
    const options = { repo: r.dir, from: 'HEAD~1', to: 'HEAD', source: 'wf' };
    const expected = await diffReleases(options);
    await startDiffEarly(argv('diff', '--repo', r.dir, '--from', 'HEAD~1', '--to', 'HEAD', '--source', 'wf'));
    await lookupsAnswered();
    expect(early().map((e) => e.fed)).toEqual([null, `${tree(v1)} ${tree(v2)}\n`]);
    const result = await diffReleases(options);
    expect(early()).toEqual([]); // both taken
    expect(result).toEqual(expected);
    expect(result.changes.map((c) => c.path)).toEqual(['a.json', 'c.json']);
  });

  it.each([
    ['commit SHAs', () => [v1, v2]],
    ['a tag and a branch', () => ['early-v1', 'main']],
  ])('gives diff-tree the commits of %s at once, without waiting for the lookups', async (_name, refs) => {
    git(r.dir, 'tag', '-f', 'early-v1', v1);
    const [from, to] = refs();
    const options = { repo: r.dir, from, to, source: 'wf' };
    const expected = await diffReleases(options);
    const started = startDiffEarly(
      argv('diff', '--repo', r.dir, '--from', from!, '--to', to!, '--source', 'wf'),
    );
    // Fed before the event loop turned once: the lookups' answer was not needed.
    // diff-tree started first (it is on the critical path now), then the lookups.
    expect(early().map((e) => e.fed)).toEqual([`${v2} ${v1}\n`, null]);
    await started;
    const result = await diffReleases(options);
    expect(early()).toEqual([]); // both taken
    expect(result).toEqual(expected);
    expect(result.changes.map((c) => c.path)).toEqual(['a.json', 'c.json']);
  });

  it('diffs from the empty tree when --from is left out', async () => {
    const expected = await diffReleases({ repo: r.dir, to: v1 });
    await startDiffEarly(argv('diff', '--repo', r.dir, '--to', v1));
    await lookupsAnswered();
    expect(early()[1]?.fed).toMatch(/^4b825dc642cb6eb9a060e54bf8d69288fbee4904 [0-9a-f]{40}\n$/);
    expect(await diffReleases({ repo: r.dir, to: v1 })).toEqual(expected);
    expect(early()).toEqual([]);
  });

  it('are left alone for a request that differs, then ended by dropEarly', async () => {
    const expected = await diffReleases({ repo: r.dir, from: v1, to: v2 });
    await startDiffEarly(argv('diff', '--repo', r.dir, '--from', v1, '--to', v2, '--source', 'wf'));
    const started = early().map((e) => e.child);
    expect(started).toHaveLength(2);
    expect(await diffReleases({ repo: r.dir, from: v1, to: v2 })).toEqual(expected);
    expect(early()).toHaveLength(2); // not the same request: not taken
    const exited = (c: (typeof started)[number]) => c.exitCode !== null || c.signalCode !== null;
    const exits = started.map((c) => (exited(c) ? null : new Promise((resolve) => c.once('exit', resolve))));
    dropEarly();
    expect(early()).toEqual([]);
    await Promise.all(exits);
    expect(started.every(exited)).toBe(true);
  });

  it('starts nothing for a ref the diff refuses, which then says why', async () => {
    await startDiffEarly(argv('diff', '--repo', r.dir, '--from', v1, '--to', 'no-such-ref'));
    expect(early().map((e) => e.fed)).toEqual([null, null]); // the lookup found no tree to give
    await expect(diffReleases({ repo: r.dir, from: v1, to: 'no-such-ref' })).rejects.toThrow(
      /to ref "no-such-ref" is not a commit/,
    );
    // Taken, then cancelled by the diff: the diff-tree that never got its trees has ended too.
    expect(early()).toEqual([]);
  });

  it('dropEarly ends a diff-tree still waiting for its trees', async () => {
    await startDiffEarly(argv('diff', '--repo', r.dir, '--from', v1, '--to', 'no-such-ref'));
    const waiting = early()[1]!.child;
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(waiting.exitCode).toBeNull(); // diff-tree waits for trees it will never get
    const exit = new Promise((resolve) => waiting.once('exit', resolve));
    dropEarly();
    await exit;
    expect(waiting.exitCode !== null || waiting.signalCode !== null).toBe(true);
  });

  it('a diff-tree that was given other trees is replaced, not read', async () => {
    const env = gitEnv();
    const args = diffTreeArgs({ renames: true, prefix: '' });
    const fresh = await startDiffTree(r.dir, { renames: true, prefix: '' }).run(tree(v1), tree(v2));
    const stale = startEarly(r.dir, args, undefined, env);
    stale.feed(`${tree(v2)} ${tree(v2)}\n`);
    const closed = new Promise((resolve) => stale.child.once('close', resolve));
    const out = await startDiffTree(r.dir, { renames: true, prefix: '' }).run(tree(v1), tree(v2));
    expect(out.stdout.length).toBeGreaterThan(0);
    expect(out.stdout.equals(fresh.stdout)).toBe(true);
    await closed;
  });
});

describe('diffship diff through the launcher', () => {
  let r: TestRepo;
  let v1: string;
  let v2: string;
  const main = fileURLToPath(new URL('../../lib/bundle/main.js', import.meta.url));
  /** The same CLI without the launcher: no process is started early. */
  const direct = (args: string[]) => {
    const script = `import(${JSON.stringify(main)}).then(async (m) => { process.exitCode = await m.main(process.argv); })`;
    const run = spawnSync(
      process.execPath,
      ['--input-type=module', '-e', script, '--', 'diffship', ...args],
      {
        encoding: 'utf8',
        env: { ...process.env, NO_COLOR: '1' },
      },
    );
    return { code: run.status, stdout: run.stdout, stderr: run.stderr };
  };

  beforeAll(() => {
    r = createRepo();
    r.write({ 'wf/a.json': 'a\n', 'wf/old.json': Array.from({ length: 30 }, (_, i) => `${i}\n`).join('') });
    v1 = r.commit();
    r.remove('wf/old.json');
    r.write({
      'wf/a.json': 'a 2\n',
      'wf/new.json': `${Array.from({ length: 30 }, (_, i) => `${i}\n`).join('')}+\n`,
    });
    v2 = r.commit();
  });
  afterAll(() => r.cleanup());

  it.each([
    [['--json']],
    [[]],
    [['--json', '--no-renames']],
    [['--json', '--source', 'wf', '--include', 'a.*']],
    [['--json', '--to', 'no-such-ref']],
    [['--json', '--source', '../x']],
  ])('prints the same bytes as without it: diff %j', (extra) => {
    const args = ['diff', '--repo', r.dir, '--from', v1, '--to', v2, ...extra];
    const launched = runCli(args, { env: { NO_COLOR: '1' } });
    expect(launched).toEqual(direct(args));
    expect(launched.stdout + launched.stderr).not.toBe('');
  });

  it('starts git twice in all, the early processes taken over (not started again)', () => {
    // A `git` first on PATH that logs each call, then runs the real one.
    const bin = tempDir('diffship-git-log-');
    const log = join(bin, 'calls.log');
    const real = execFileSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).trim();
    writeFileSync(
      join(bin, 'git'),
      `#!/bin/sh\n${SH_GIT_COMMAND}\necho "$cmd" >> '${log}'\nexec '${real}' "$@"\n`,
      {
        mode: 0o755,
      },
    );
    const args = ['diff', '--repo', r.dir, '--from', v1, '--to', v2, '--json'];
    const run = runCli(args, { env: { PATH: `${bin}:${process.env.PATH ?? ''}` } });
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout).changes).toHaveLength(2);
    expect(readFileSync(log, 'utf8').split('\n').filter(Boolean).sort()).toEqual(['cat-file', 'diff-tree']);
    rmSync(bin, { recursive: true, force: true });
  });

  it('says the same for a folder that is not a repository', () => {
    const args = ['diff', '--repo', '/', '--json'];
    const launched = runCli(args, { env: { NO_COLOR: '1' } });
    expect(launched.code).toBe(2);
    expect(launched).toEqual(direct(args));
  });
});
