/**
 * Bad configs and flags through the real CLI: each exits 2 with ONE line on
 * stderr (`diffship: …`, no stack trace) naming the key path or flag, prints
 * nothing on stdout, and leaves the target folder untouched.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from '../helpers/cli.js';
import { makeRepo, snapshot, type SnapEntry } from '../helpers/repo.js';
import { tempDir } from '../helpers/git.js';

let repo: ReturnType<typeof makeRepo>;
let ws: string;
let target0: Record<string, SnapEntry>;

const GOOD_TARGET = '  - { name: web, type: local, path: t/web }';

beforeAll(() => {
  repo = makeRepo();
  repo.commit({ 'wf/a.json': 'a\n' });
  ws = tempDir('diffship-config-errors-');
  mkdirSync(join(ws, 't/web'), { recursive: true });
  writeFileSync(join(ws, 't/web/existing.txt'), 'already here\n');
  target0 = snapshot(join(ws, 't/web'), []);
});
afterAll(() => {
  repo.cleanup();
  rmSync(ws, { recursive: true, force: true });
});

interface Case {
  name: string;
  /** diffship.yml lines (null: no file written). */
  config: string[] | null;
  args: string[];
  /** The whole stderr line after `diffship: `. */
  message: string | RegExp;
}

const CASES: Case[] = [
  {
    name: 'an unknown key, with a hint',
    config: ['source: wf', 'on-drfit: skip', 'targets:', GOOD_TARGET],
    args: ['deploy'],
    message: 'Invalid bad.yml: on-drfit: unknown key — did you mean "on-drift"? (line 2)',
  },
  {
    name: 'targets[1].path missing',
    config: ['targets:', GOOD_TARGET, '  - name: db', '    type: local'],
    args: ['deploy'],
    message: 'Invalid bad.yml: targets[1].path: required (line 3)',
  },
  {
    name: 'path: /',
    config: ['targets:', GOOD_TARGET, '  - { name: root, type: local, path: / }'],
    args: ['deploy'],
    message: /^Invalid bad\.yml: targets\[1\]\.path: refused: "\/" is the filesystem root \(line 3\)$/,
  },
  {
    name: 'a home folder as path',
    config: ['targets:', GOOD_TARGET, '  - { name: home, type: local, path: "~" }'],
    args: ['plan'],
    message: /^Invalid bad\.yml: targets\[1\]\.path: refused: .*home folder.* \(line 3\)$/,
  },
  {
    name: 'an unset environment variable',
    config: ['targets:', '  - { name: web, type: local, path: "t/${DIFFSHIP_TEST_UNSET}" }'],
    args: ['deploy'],
    message: 'Invalid bad.yml: targets[0].path: environment variable DIFFSHIP_TEST_UNSET is not set (line 2)',
  },
  {
    name: 'a YAML syntax error, with line and column',
    config: ['targets:', '  - { name: web, type: local, path: t/web', 'mode: additive'],
    args: ['deploy'],
    message: /^bad\.yml:3:1: .+$/,
  },
  {
    name: 'a bad --mode',
    config: ['targets:', GOOD_TARGET],
    args: ['deploy', '--mode', 'overwrite'],
    message: '--mode: expected additive or authoritative (got "overwrite")',
  },
  {
    name: 'a bad --waves',
    config: ['targets:', GOOD_TARGET],
    args: ['deploy', '--waves', '1,0,abc'],
    message: '--waves: expected counts or "N%" separated by commas, like 1,50%,100% (got "1,0,abc")',
  },
  {
    name: 'a bad --on-drift on plan',
    config: ['targets:', GOOD_TARGET],
    args: ['plan', '--on-drift', 'ignore'],
    message: '--on-drift: expected fail, overwrite or skip (got "ignore")',
  },
  {
    name: 'a bad --max-deletes',
    config: ['targets:', GOOD_TARGET],
    args: ['deploy', '--max-deletes', 'many'],
    message: '--max-deletes: expected a count (got "many")',
  },
  {
    name: '--mode authoritative on a target holding the config',
    config: ['targets:', GOOD_TARGET, '  - { name: here, type: local, path: . }'],
    args: ['deploy', '--mode', 'authoritative'],
    message:
      /^--mode authoritative: targets\[1\] \(here\): .* holds the config folder .*; an authoritative deploy would delete it$/,
  },
  {
    name: 'a missing config file',
    config: null,
    args: ['deploy'],
    message: /^bad\.yml not found at .*\/bad\.yml — create it or pass --config <file>$/,
  },
  {
    name: 'a missing config file (status)',
    config: null,
    args: ['status'],
    message: /^bad\.yml not found at .*\/bad\.yml — create it or pass --config <file>$/,
  },
  {
    name: 'an unknown flag',
    config: ['targets:', GOOD_TARGET],
    args: ['deploy', '--mdoe', 'additive'],
    message: /^unknown option '--mdoe' \(Did you mean --mode\?\)$/,
  },
  {
    name: 'a ref that does not exist',
    config: ['source: wf', 'targets:', GOOD_TARGET],
    args: ['deploy', '--to', 'v9.9.9'],
    message: /^to ref "v9\.9\.9" is not a commit in this repository/,
  },
];

describe('bad configs and flags through the CLI', () => {
  it.each(CASES)('$name: exit 2, one line naming it, target untouched', ({ config, args, message }) => {
    const file = join(ws, 'bad.yml');
    rmSync(file, { force: true });
    if (config) writeFileSync(file, `${config.join('\n')}\n`);
    const [command, ...rest] = args;
    const r = cli(ws, [command!, '--repo', repo.dir, '--config', 'bad.yml', ...rest], {
      DIFFSHIP_TEST_UNSET: undefined,
    });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stdout).toBe('');
    const lines = r.stderr.split('\n');
    expect(lines).toHaveLength(2); // one line and its newline
    expect(lines[1]).toBe('');
    expect(lines[0]).toMatch(/^diffship: /);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    const text = lines[0]!.slice('diffship: '.length);
    if (typeof message === 'string') expect(text).toBe(message);
    else expect(text).toMatch(message);
    expect(snapshot(join(ws, 't/web'), [])).toEqual(target0);
  });

  it('several problems: one per line under a heading, as docs/config.md shows', () => {
    writeFileSync(
      join(ws, 'bad.yml'),
      ['mode: sideways', 'targets:', '  - { name: web, type: ftp, path: t/web }', ''].join('\n'),
    );
    const r = cli(ws, ['deploy', '--repo', repo.dir, '--config', 'bad.yml']);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stdout).toBe('');
    const lines = r.stderr.split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[0]).toBe('diffship: Invalid bad.yml (2 problems):');
    expect(lines[1]).toMatch(/^ {2}mode: .*additive.*authoritative.* \(line 1\)$/);
    expect(lines[2]).toBe('  targets[0].type: expected one of local, ssh (got "ftp") (line 3)');
    expect(lines[3]).toBe('');
    expect(snapshot(join(ws, 't/web'), [])).toEqual(target0);
  });

  it('a config warning is one `diffship: warning:` line and does not stop the command', () => {
    writeFileSync(
      join(ws, 'warn.yml'),
      ['targets:', '  - { name: here, type: local, path: . }', ''].join('\n'),
    );
    const r = cli(ws, [
      'plan',
      '--repo',
      repo.dir,
      '--config',
      'warn.yml',
      '--no-progress',
      '--json',
      '--to',
      'HEAD',
    ]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe(`diffship: warning: targets[0].path: ${ws} holds the config folder ${ws}\n`);
    expect(JSON.parse(r.stdout)).toMatchObject({ status: 'planned' });
  });
});
