import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { diffReleases } from '../../src/diff/diff-releases.js';
import { asView, createRepo, gitView, type TestRepo } from '../diff/git-repo.js';
import { git, gitBytes } from '../helpers/git.js';
import { BIN, runCli } from '../helpers/cli.js';

const oneErrorLine = (stderr: string) => {
  const lines = stderr.split('\n').filter(Boolean);
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^diffship: /);
  expect(stderr).not.toMatch(/\n\s+at /); // no stack trace
  return lines[0]!;
};

describe('diffship diff (built CLI)', () => {
  let r: TestRepo;
  let v1: string;
  let v2: string;

  beforeAll(() => {
    r = createRepo();
    r.write({
      'wf/keep.json': 'keep\n',
      'wf/old name.json': Array.from({ length: 30 }, (_, i) => `line ${i}\n`).join(''),
      'wf/gone.json': 'gone\n',
      'wf/run.sh': 'echo\n',
      'wf/new\nline.json': 'nl\n',
      'wf/-dash.json': 'dash\n',
      'other.txt': 'x\n',
    });
    v1 = r.commit();
    r.remove('wf/old name.json', 'wf/gone.json');
    r.write({
      'wf/keep.json': 'keep 2\n',
      'wf/new name.json': `${Array.from({ length: 30 }, (_, i) => `line ${i}\n`).join('')}more\n`,
      'wf/run.sh': { content: 'echo\n', mode: 0o755 },
      'wf/new\nline.json': 'nl 2\n',
      'wf/added "q".json': 'q\n',
      'wf/\u001b[31mred.json': 'ansi\n',
      'other.txt': 'y\n',
    });
    v2 = r.commit();
  });
  afterAll(() => r.cleanup());

  it('prints the SPEC JSON, identical to the library and to git', async () => {
    const run = runCli(['diff', '--repo', r.dir, '--from', v1, '--to', v2, '--source', 'wf', '--json']);
    expect(run.code).toBe(0);
    expect(run.stderr).toBe('');
    const json = JSON.parse(run.stdout);
    expect(json).toEqual(await diffReleases({ repo: r.dir, from: v1, to: v2, source: 'wf' }));
    expect(Object.keys(json)).toEqual(['from', 'to', 'source', 'changes', 'counts']);
    expect(asView(json.changes)).toEqual(
      gitView(r.dir, v1, v2, { pathspec: 'wf/' }).map(({ oldPath, ...c }) => ({
        ...c,
        path: c.path.slice(3),
        ...(oldPath ? { oldPath: oldPath.slice(3) } : {}),
      })),
    );
    expect(json.changes.map((c: { path: string }) => c.path)).toContain('new\nline.json');
  });

  it('runs one cat-file and one diff-tree: the selection check needs no git of its own when a file of the release changed', () => {
    const trace = join(r.dir, '..', `trace-${process.pid}.txt`);
    try {
      for (const json of [['--json'], []]) {
        rmSync(trace, { force: true });
        const run = runCli(['diff', '--from', v1, '--to', v2, '--source', 'wf', ...json], {
          cwd: r.dir,
          env: { GIT_TRACE: trace },
        });
        expect(run.code).toBe(0);
        const commands = readFileSync(trace, 'utf8')
          .split('\n')
          .flatMap((line) => /built-in: git ([a-z-]+) /.exec(line)?.[1] ?? []);
        expect(commands.sort()).toEqual(['cat-file', 'diff-tree']);
      }
    } finally {
      rmSync(trace, { force: true });
    }
  });

  it('prints a readable listing without colour when piped, escaping unsafe names', () => {
    const run = runCli(['diff', '--from', v1, '--to', v2, '--source', 'wf'], { cwd: r.dir });
    expect(run.code).toBe(0);
    expect(run.stdout).not.toContain('\u001b[3'); // no colour, and the ANSI in a name is escaped
    expect(run.stdout.split('\n')).toEqual([
      'A  "\\x1b[31mred.json"',
      'A  added "q".json',
      'D  gone.json',
      'M  keep.json',
      'M  "new\\nline.json"',
      expect.stringMatching(/^R {2}old name\.json → new name\.json \(9\d%\)$/),
      'M  run.sh (mode 100644 → 100755)',
      `7 changes (${v1.slice(0, 12)} → ${v2.slice(0, 12)}): 2 added, 3 updated, 1 deleted, 1 renamed`,
      '',
    ]);
  });

  it('colours on FORCE_COLOR, and NO_COLOR wins', () => {
    const forced = runCli(['diff', '--from', v1, '--to', v2, '--source', 'wf'], {
      cwd: r.dir,
      env: { FORCE_COLOR: '1' },
    });
    expect(forced.stdout).toContain('\u001b[32mA\u001b[39m');
    const both = runCli(['diff', '--from', v1, '--to', v2, '--source', 'wf'], {
      cwd: r.dir,
      env: { FORCE_COLOR: '1', NO_COLOR: '1' },
    });
    expect(both.stdout).not.toContain('\u001b[');
  });

  it('says so when nothing changed', () => {
    const run = runCli(['diff', '--from', v2, '--to', v2], { cwd: r.dir });
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(`no changes (${v2.slice(0, 12)} → ${v2.slice(0, 12)})\n`);
  });

  it('lists the whole release without --from, and takes --repo before or after the command', () => {
    const after = runCli(['diff', '--repo', r.dir, '--to', v1, '--json']);
    const before = runCli(['--repo', r.dir, 'diff', '--to', v1, '--json']);
    expect(after.code).toBe(0);
    expect(before.stdout).toBe(after.stdout);
    const json = JSON.parse(after.stdout);
    expect(json.from).toBeNull();
    expect(json.counts).toEqual({ added: 7, updated: 0, deleted: 0, renamed: 0 });
  });

  it('applies repeated --include/--exclude and --no-renames', () => {
    const run = runCli(
      [
        'diff',
        '--from',
        v1,
        '--to',
        v2,
        '--include',
        'wf/**',
        '--exclude',
        '**/*.sh',
        '--exclude',
        'wf/added*',
        '--no-renames',
        '--json',
      ],
      { cwd: r.dir },
    );
    expect(run.code).toBe(0);
    const { changes, counts } = JSON.parse(run.stdout);
    expect(changes.map((c: { path: string }) => c.path)).toEqual([
      'wf/\u001b[31mred.json',
      'wf/gone.json',
      'wf/keep.json',
      'wf/new\nline.json',
      'wf/new name.json',
      'wf/old name.json',
    ]);
    expect(counts).toEqual({ added: 2, updated: 2, deleted: 2, renamed: 0 });
  });

  it('exits 2 with one plain line for a bad ref', () => {
    const run = runCli(['diff', '--from', 'v404', '--to', v2], { cwd: r.dir });
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(oneErrorLine(run.stderr)).toContain('"v404"');
  });

  it.each([
    [['--from', '--output=x']],
    [['--from=--output=x']],
    [['--to', '--output=x']],
    [['--from', '-p', '--to', '--output=x']],
  ])('refuses option-like refs %j: exit 2, and git never sees them', (refArgs) => {
    const before = readdirSync(r.dir).sort();
    const run = runCli(['diff', ...refArgs], { cwd: r.dir });
    expect(run.code).toBe(2);
    expect(oneErrorLine(run.stderr)).toContain('looks like an option');
    expect(existsSync(join(r.dir, 'x'))).toBe(false);
    expect(readdirSync(r.dir).sort()).toEqual(before);
  });

  it('exits 2 with one line for usage errors', () => {
    const unknown = runCli(['diff', '--form', v1], { cwd: r.dir });
    expect(unknown.code).toBe(2);
    expect(oneErrorLine(unknown.stderr)).toMatch(/unknown option '--form'.*--from/);
    const missing = runCli(['diff', '--from'], { cwd: r.dir });
    expect(missing.code).toBe(2);
    oneErrorLine(missing.stderr);
    const command = runCli(['dif'], { cwd: r.dir });
    expect(command.code).toBe(2);
    expect(oneErrorLine(command.stderr)).toMatch(/unknown command 'dif'.*diff/);
  });

  it('exits 2 outside a git repository', () => {
    const run = runCli(['diff', '--repo', join(r.dir, 'wf')]);
    // A folder inside a repository is fine (paths stay relative to the top)...
    expect(run.code).toBe(0);
    const outside = runCli(['diff', '--repo', '/']);
    expect(outside.code).toBe(2);
    expect(oneErrorLine(outside.stderr)).toContain('is not a git repository');
  });

  it('warns about submodules on stderr, keeping stdout clean JSON', () => {
    git(r.dir, 'update-index', '--add', '--cacheinfo', `160000,${v1},wf/vendor/lib`);
    git(r.dir, 'commit', '-q', '-m', 'submodule');
    const v3 = git(r.dir, 'rev-parse', 'HEAD');
    const run = runCli(['diff', '--from', v2, '--to', v3, '--json'], { cwd: r.dir });
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout).changes).toEqual([
      { status: 'added', path: 'wf/vendor/lib', mode: '160000', blob: v1 },
    ]);
    expect(oneErrorLine(run.stderr)).toBe(
      'diffship: warning: 1 submodule entry is reported but never shipped: wf/vendor/lib',
    );
    const human = runCli(['diff', '--from', v2, '--to', v3], { cwd: r.dir });
    expect(human.stdout).toContain('A  wf/vendor/lib (submodule, not shipped)');
  });

  it('prints its version and help with exit 0', () => {
    const version = runCli(['--version']);
    expect(version.code).toBe(0);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    const help = runCli(['diff', '--help']);
    expect(help.code).toBe(0);
    for (const flag of ['--from', '--to', '--source', '--include', '--exclude', '--no-renames', '--json']) {
      expect(help.stdout).toContain(flag);
    }
  });

  it.each([
    ['text', 'text', '| head -n 1', 'A  text/file-00000.json\n'],
    ['--json', 'json', '--json | head -c 9', '{"from":"'],
  ])('stops quietly when the reader goes away (%s, diffship diff | head)', (_, dir, tail, first) => {
    // Enough output to overflow the pipe once `head` has exited.
    const blob = gitBytes(r.dir, ['hash-object', '-w', '--stdin'], 'same\n').toString().trim();
    const index = Array.from(
      { length: 4000 },
      (_, i) => `100644 ${blob}\t${dir}/file-${String(i).padStart(5, '0')}.json`,
    ).join('\n');
    gitBytes(r.dir, ['update-index', '--index-info'], `${index}\n`);
    git(r.dir, 'commit', '-q', '-m', 'bulk');
    const run = spawnSync('sh', ['-c', `"${process.execPath}" "${BIN}" diff --from HEAD~1 ${tail}`], {
      cwd: r.dir,
      encoding: 'utf8',
    });
    expect(run.stdout).toBe(first);
    expect(run.stderr).toBe('');
  });
});
