/**
 * `remote` hooks and command checks of an ssh target, through the real CLI
 * and a real OpenSSH server (which drops client environment): they see every
 * DIFFSHIP_* variable, quoted safely even when a value holds quotes, `$(…)`,
 * backticks and spaces, and they run in the target folder.
 */
import { existsSync, mkdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Report } from '../../src/report/types.js';
import { cli } from '../helpers/cli.js';
import { makeRepo } from '../helpers/repo.js';
import { git, tempDir } from '../helpers/git.js';
import { startSshd, type Sshd, sshTargetYaml } from '../helpers/sshd.js';

let sshd: Sshd;
let repo: ReturnType<typeof makeRepo>;
let ws: string;
let out: string;
let target: string;
let v1: string;
let v2: string;

/**
 * Each hook dumps its DIFFSHIP_* variables (NUL-separated, so any value survives), its working
 * folder, and the change-set file DIFFSHIP_CHANGES names, read on the host.
 */
const dump = (name: string) =>
  `env -0 | grep -z '^DIFFSHIP_' > ${out}/${name}.env && pwd -P > ${out}/${name}.pwd && ls -A > ${out}/${name}.ls && cat "$DIFFSHIP_CHANGES" > ${out}/${name}.changes`;

beforeAll(async () => {
  sshd = await startSshd();
  repo = makeRepo();
  v1 = repo.commit({ 'app/a.json': 'a1\n' });
  git(repo.dir, 'tag', 'v1');
  v2 = repo.commit({ 'app/a.json': 'a2\n', 'app/b.json': 'b2\n' });
  git(repo.dir, 'tag', 'v2');
  ws = tempDir('diffship-ssh-hooks-');
  out = join(ws, 'out');
  mkdirSync(out);
  // A target folder whose name a naive `cd $DIFFSHIP_PATH` or unquoted export would trip on.
  target = join(ws, `it's a "target" $(touch pwned) \`touch pwned2\` ;x`);
  writeFileSync(
    join(ws, 'diffship.yml'),
    [
      'source: app',
      'defaults:',
      `  before: { remote: ${JSON.stringify(dump('before'))} }`,
      `  activate: { remote: ${JSON.stringify(dump('activate'))} }`,
      '  verify:',
      // The check sees the variables too, and the release being shipped.
      `    - command: { remote: ${JSON.stringify(`test "$DIFFSHIP_RELEASE" = {release} && test -f a.json && ${dump('verify')}`)}, timeout: 20s }`,
      `  after: { remote: ${JSON.stringify(dump('after'))} }`,
      'targets:',
      ...sshTargetYaml(sshd, target),
      '',
    ].join('\n'),
  );
});
afterAll(async () => {
  await sshd?.stop();
  repo?.cleanup();
  rmSync(ws, { recursive: true, force: true });
});

function readEnv(name: string): Record<string, string> {
  const text = readFileSync(join(out, `${name}.env`), 'utf8');
  const env: Record<string, string> = {};
  for (const entry of text.split('\0').filter(Boolean)) {
    const eq = entry.indexOf('=');
    env[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return env;
}

function deploy(ref: string): Report {
  const reportFile = join(ws, `${ref}.json`);
  const r = cli(ws, ['deploy', '--repo', repo.dir, '--to', ref, '--no-progress', '--report', reportFile]);
  expect(r.code, r.stdout + r.stderr).toBe(0);
  return JSON.parse(readFileSync(reportFile, 'utf8')) as Report;
}

describe('remote hooks over ssh', () => {
  it('see every DIFFSHIP_* variable exactly, with the target folder as working directory', () => {
    const report = deploy('v1');
    expect(report.targets[0]!.steps.map((s) => `${s.name}:${s.status}`)).toEqual(
      expect.arrayContaining(['before:ok', 'apply:ok', 'activate:ok', 'verify:ok', 'after:ok']),
    );
    for (const hook of ['before', 'activate', 'verify', 'after']) {
      const env = readEnv(hook);
      expect(env, hook).toMatchObject({
        DIFFSHIP_TARGET: 'far',
        DIFFSHIP_HOST: '127.0.0.1',
        DIFFSHIP_PATH: target,
        DIFFSHIP_RELEASE: v1,
        DIFFSHIP_PREVIOUS_RELEASE: '',
        DIFFSHIP_DEPLOY_ID: report.deployId,
      });
      // A copy in the target's state folder: a path on the host, which a remote command can read.
      expect(env.DIFFSHIP_CHANGES, hook).toBe(join(target, '.diffship', 'changes.json'));
      expect(JSON.parse(readFileSync(join(out, `${hook}.changes`), 'utf8')), hook).toMatchObject({
        target: 'far',
        from: null,
        to: v1,
        added: ['a.json'],
        updated: [],
      });
      expect(readFileSync(join(out, `${hook}.pwd`), 'utf8')).toBe(`${realpathSync(target)}\n`);
    }
    // before runs ahead of the files, activate after them.
    expect(readFileSync(join(out, 'before.ls'), 'utf8')).not.toContain('a.json');
    expect(readFileSync(join(out, 'activate.ls'), 'utf8')).toContain('a.json');
    // Nothing in a value was ever run by a shell.
    for (const dir of [ws, target, join(sshd.dir, 'home')])
      for (const f of ['pwned', 'pwned2']) expect(existsSync(join(dir, f)), join(dir, f)).toBe(false);
  });

  it('the next deploy tells them the previous release', () => {
    const report = deploy('v2');
    const env = readEnv('after');
    expect(env).toMatchObject({
      DIFFSHIP_RELEASE: v2,
      DIFFSHIP_PREVIOUS_RELEASE: v1,
      DIFFSHIP_DEPLOY_ID: report.deployId,
    });
    expect(readFileSync(join(target, 'b.json'), 'utf8')).toBe('b2\n');
    expect(JSON.parse(readFileSync(join(out, 'before.changes'), 'utf8'))).toMatchObject({
      from: v1,
      to: v2,
      added: ['b.json'],
      updated: ['a.json'],
    });
  });
});
