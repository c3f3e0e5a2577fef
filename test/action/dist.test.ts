/**
 * The bundled action (dist/index.js) run as a runner runs it: a node process
 * with INPUT_* variables, GITHUB_OUTPUT / GITHUB_STEP_SUMMARY files,
 * GITHUB_SHA and RUNNER_TEMP, against a real git repository and local targets.
 * Build it first: `npm run bundle`.
 */
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Report } from '../../src/report/types.js';
import { inputEnv, readOutputs } from './runner.js';

const DIST = path.resolve(import.meta.dirname, '../../dist/index.js');

interface Fixture {
  root: string;
  repo: string;
  hosts: string;
  commit(files: Record<string, string | null>, message?: string): string;
}

interface ActionRun {
  code: number | null;
  stdout: string;
  stderr: string;
  outputs: Record<string, string>;
  summary: string;
  report(): Report;
}

const cleanups: string[] = [];
afterEach(() => {
  for (const dir of cleanups.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

beforeAll(() => {
  if (!fs.existsSync(DIST)) throw new Error(`${DIST} is missing: run npm run bundle first`);
});

const git = (cwd: string, ...args: string[]) =>
  execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args], {
    cwd,
    encoding: 'utf8',
  }).trim();

/** A repository whose folder `app` is shipped, three local targets (canary first), and `config` as diffship.yml. */
function fixture(config: string): Fixture {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'diffship-action-'));
  cleanups.push(root);
  const repo = path.join(root, 'repo');
  const hosts = path.join(root, 'hosts');
  fs.mkdirSync(path.join(repo, 'app'), { recursive: true });
  for (const host of ['canary', 'web-1', 'web-2']) fs.mkdirSync(path.join(hosts, host), { recursive: true });
  git(repo, 'init', '-q', '-b', 'main');
  const commit = (files: Record<string, string | null>, message = 'release') => {
    for (const [name, content] of Object.entries(files)) {
      const file = path.join(repo, name);
      if (content === null) fs.rmSync(file);
      else {
        fs.mkdirSync(path.dirname(file), { recursive: true });
        fs.writeFileSync(file, content);
      }
    }
    git(repo, 'add', '-A');
    git(repo, 'commit', '-q', '-m', message);
    return git(repo, 'rev-parse', 'HEAD');
  };
  commit(
    { 'diffship.yml': config, 'app/a.xml': '<a/>\n', 'app/b.xml': '<b/>\n', 'app/old.xml': '<old/>\n' },
    'r1',
  );
  return { root, repo, hosts, commit };
}

const TARGETS = `
targets:
  - name: canary
    path: ../hosts/canary
    labels: [canary]
  - name: web-1
    path: ../hosts/web-1
    labels: [web]
  - name: web-2
    path: ../hosts/web-2
    labels: [web]
`;

/** Run dist/index.js the way the runner does; `signalAfter` sends SIGINT once stdout shows that text. */
function runAction(
  fx: Fixture,
  inputs: Record<string, string>,
  options: { env?: Record<string, string>; signalAfter?: string } = {},
): Promise<ActionRun> {
  const runner = fs.mkdtempSync(path.join(fx.root, 'runner-'));
  const output = path.join(runner, 'output');
  const summary = path.join(runner, 'summary');
  const temp = path.join(runner, 'temp');
  fs.writeFileSync(output, '');
  fs.writeFileSync(summary, '');
  fs.mkdirSync(temp);
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: fx.root,
    GITHUB_WORKSPACE: fx.repo,
    GITHUB_SHA: git(fx.repo, 'rev-parse', 'HEAD'),
    GITHUB_OUTPUT: output,
    GITHUB_STEP_SUMMARY: summary,
    RUNNER_TEMP: temp,
    GITHUB_EVENT_NAME: 'push',
    // Defaults from action.yml, which the runner would set.
    ...inputEnv({
      command: 'deploy',
      config: 'diffship.yml',
      'report-artifact': 'diffship-report',
      ...inputs,
    }),
    ...options.env,
  };
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [DIST], { cwd: fx.repo, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let signalled = false;
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (options.signalAfter && !signalled && stdout.includes(options.signalAfter)) {
        signalled = true;
        setTimeout(() => child.kill('SIGINT'), 300);
      }
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const outputs = readOutputs(output);
      resolve({
        code,
        stdout,
        stderr,
        outputs,
        summary: fs.readFileSync(summary, 'utf8'),
        report: () => JSON.parse(fs.readFileSync(outputs.report!, 'utf8')) as Report,
      });
    });
  });
}

const list = (dir: string) =>
  fs
    .readdirSync(dir)
    .filter((n) => !n.startsWith('.diffship'))
    .sort();
const errorLines = (stdout: string) => stdout.split('\n').filter((l) => l.startsWith('::error'));

describe('dist/index.js', () => {
  it('plans without touching a target', async () => {
    const fx = fixture(`source: app\n${TARGETS}`);
    const run = await runAction(fx, { command: 'plan' });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.outputs).toMatchObject({
      status: 'planned',
      changed: 'true',
      added: '["a.xml","b.xml","old.xml"]',
      'deployed-targets': '["canary","web-1","web-2"]',
      'failed-targets': '[]',
      matrix: '{"include":[{"wave":0,"targets":"canary"},{"wave":1,"targets":"web-1,web-2"}]}',
    });
    expect(run.report().command).toBe('plan');
    for (const host of ['canary', 'web-1', 'web-2'])
      expect(fs.readdirSync(path.join(fx.hosts, host))).toEqual([]);
    expect(run.summary).toMatch(/^## 📝 diffship plan: planned/);
    expect(run.stdout).toContain('::group::canary: planned');
    expect(errorLines(run.stdout)).toEqual([]);
  });

  it('treats deploy with dry-run as a plan', async () => {
    const fx = fixture(`source: app\n${TARGETS}`);
    const run = await runAction(fx, { 'dry-run': 'true' });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.outputs.status).toBe('planned');
    expect(fs.readdirSync(path.join(fx.hosts, 'canary'))).toEqual([]);
  });

  it('deploys, then ships only the next diff, then reports nothing to do', async () => {
    const fx = fixture(`source: app\n${TARGETS}`);
    const first = await runAction(fx, {});
    expect(first.code, first.stdout + first.stderr).toBe(0);
    expect(first.outputs).toMatchObject({
      status: 'succeeded',
      changed: 'true',
      'deployed-targets': '["canary","web-1","web-2"]',
    });
    for (const host of ['canary', 'web-1', 'web-2'])
      expect(list(path.join(fx.hosts, host))).toEqual(['a.xml', 'b.xml', 'old.xml']);
    expect(first.summary).toMatch(/^## ✅ diffship deploy: succeeded/);
    expect(first.summary).toContain('### Wave 2 of 2');
    expect(first.summary).toContain('```mermaid\ngantt');
    expect(first.stdout).toMatch(/::group::web-2: deployed \(wave 2/);

    fx.commit({ 'app/a.xml': '<a v="2"/>\n', 'app/b.xml': null, 'app/c.xml': '<c/>\n' }, 'r2');
    const second = await runAction(fx, { mode: 'authoritative' });
    expect(second.code, second.stdout + second.stderr).toBe(0);
    expect(second.outputs).toMatchObject({
      status: 'succeeded',
      changed: 'true',
      updated: '["a.xml"]',
      deleted: '["b.xml"]',
    });
    expect(JSON.parse(second.outputs.added!)).toContain('c.xml');
    expect(fs.readFileSync(path.join(fx.hosts, 'web-1', 'a.xml'), 'utf8')).toBe('<a v="2"/>\n');
    expect(list(path.join(fx.hosts, 'web-1'))).toEqual(['a.xml', 'c.xml', 'old.xml']);

    const third = await runAction(fx, {});
    expect(third.code, third.stdout + third.stderr).toBe(0);
    expect(third.outputs).toMatchObject({
      status: 'succeeded',
      changed: 'false',
      added: '[]',
      'deployed-targets': '[]',
    });
  });

  it('selects targets and overrides waves and max-parallel', async () => {
    const fx = fixture(`source: app\n${TARGETS}`);
    const run = await runAction(fx, {
      command: 'plan',
      targets: 'label:web',
      waves: '100%',
      'max-parallel': '1',
    });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.outputs.matrix).toBe('{"include":[{"wave":0,"targets":"web-1,web-2"}]}');
  });

  it('stops at a failing canary: annotation, failed step, other waves untouched', async () => {
    const fx = fixture(
      `source: app
defaults:
  verify:
    - command: { run: 'test "{name}" != canary', timeout: 1s, interval: 100ms }
${TARGETS}`,
    );
    const run = await runAction(fx, {});
    expect(run.code).toBe(1);
    expect(run.outputs).toMatchObject({ status: 'failed', changed: 'false', 'failed-targets': '["canary"]' });
    const errors = errorLines(run.stdout);
    expect(
      errors.some((l) => l.startsWith('::error title=diffship%3A canary failed in the verify step')),
    ).toBe(true);
    expect(errors.at(-1)).toMatch(
      /^::error::diffship deploy of [0-9a-f]{7} failed: 1 of 3 target\(s\) failed \(canary\)$/,
    );
    // Rolled back, and the next wave never started.
    expect(list(path.join(fx.hosts, 'canary'))).toEqual([]);
    expect(fs.readdirSync(path.join(fx.hosts, 'web-1'))).toEqual([]);
    expect(run.summary).toMatch(/^## ❌ diffship deploy: failed/);
    expect(run.summary).toMatch(/\| canary \| ↩️ rolled-back \|.*\| verify/);
  });

  it('masks secret inputs: only ::add-mask:: ever shows them', async () => {
    const key = [
      '-----BEGIN OPENSSH PRIVATE KEY-----',
      'b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW',
      'QyNTUxOQAAACDtestkeytestkeytestkeytestkeytestkeytestkeyAAAAAAAAAAAAAAA',
      '-----END OPENSSH PRIVATE KEY-----',
    ].join('\n');
    const token = 'tok-7c1d9a0e5b3f';
    const fx = fixture(
      `source: app
defaults:
  before: { run: 'echo "using \${DEPLOY_TOKEN}"; echo "key \${KEY_LINE}"' }
${TARGETS}`,
    );
    const run = await runAction(
      fx,
      { 'ssh-private-key': key, targets: 'canary' },
      { env: { DEPLOY_TOKEN: token, KEY_LINE: key.split('\n')[2]! } },
    );
    expect(run.code, run.stdout + run.stderr).toBe(0);
    const lines = run.stdout.split('\n');
    for (const line of key.split('\n')) expect(lines).toContain(`::add-mask::${line}`);
    expect(lines).toContain(`::add-mask::${token}`);
    for (const secret of [token, ...key.split('\n')]) {
      expect(lines.filter((l) => l.includes(secret) && !l.startsWith('::add-mask::'))).toEqual([]);
      expect(run.summary).not.toContain(secret);
      expect(fs.readFileSync(run.outputs.report!, 'utf8')).not.toContain(secret);
      expect(run.stderr).not.toContain(secret);
    }
  });

  it('fails a broken config with one clear error line', async () => {
    const fx = fixture(`source: app\nmode: mirror\n${TARGETS}`);
    const run = await runAction(fx, {});
    expect(run.code).toBe(1);
    const errors = errorLines(run.stdout);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^::error::.*mode/);
    expect(run.outputs.status).toBe('failed');
    expect(run.stderr).toBe('');
  });

  it('fails a missing config and a bad input with one line each', async () => {
    const fx = fixture(`source: app\n${TARGETS}`);
    const missing = await runAction(fx, { config: 'nope.yml' });
    expect(missing.code).toBe(1);
    expect(errorLines(missing.stdout)).toEqual([expect.stringMatching(/^::error::nope\.yml not found/)]);

    const bad = await runAction(fx, { command: 'ship-it' });
    expect(bad.code).toBe(1);
    expect(errorLines(bad.stdout)).toEqual([
      '::error::Input command is "ship-it": expected one of deploy, plan, rollback, status.',
    ]);
  });

  it('reports what each target holds with command: status', async () => {
    const fx = fixture(`source: app\n${TARGETS}`);
    await runAction(fx, { targets: 'canary' });
    const run = await runAction(fx, { command: 'status' });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.outputs.status).toBe('succeeded');
    expect(run.summary).toMatch(
      new RegExp(`\\| canary \\| ${git(fx.repo, 'rev-parse', 'HEAD').slice(0, 12)} \\|`),
    );
    expect(run.summary).toMatch(/\| web-1 \| \(none\) \|/);
  });

  it('rolls the last deploy back with command: rollback', async () => {
    const fx = fixture(`source: app\n${TARGETS}`);
    await runAction(fx, { targets: 'canary' });
    fx.commit({ 'app/a.xml': '<a v="2"/>\n' }, 'r2');
    await runAction(fx, { targets: 'canary' });
    const run = await runAction(fx, { command: 'rollback', targets: 'canary' });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.outputs.status).toBe('succeeded');
    expect(fs.readFileSync(path.join(fx.hosts, 'canary', 'a.xml'), 'utf8')).toBe('<a/>\n');
  });

  it('ends a cancelled run (SIGINT) with status cancelled and exit 1', async () => {
    const fx = fixture(
      `source: app
defaults:
  before: { run: 'sleep 20' }
${TARGETS}`,
    );
    const run = await runAction(fx, {}, { signalAfter: 'Wave 1: canary' });
    expect(run.code).toBe(1);
    expect(run.outputs.status).toBe('cancelled');
    expect(run.stdout).toContain('::warning::Received SIGINT');
    expect(errorLines(run.stdout).at(-1)).toMatch(/^::error::diffship deploy was cancelled/);
    expect(fs.readdirSync(path.join(fx.hosts, 'web-1'))).toEqual([]);
  });
});
