/**
 * Smoke run of the action's TypeScript sources with @github/local-action, the
 * way a developer debugs it locally: `npx local-action run <repo root>
 * src/action/main.ts <env file>`. local-action replaces @actions/core (and
 * artifact, github) with its own stubs, imports `run` from main.ts through tsx
 * and calls it; inputs come from the env file, with defaults from action.yml.
 * The stubs print `::set-output name=…::…` lines and an "Action Outputs"
 * table, which is what these tests read. Real git repo, real local targets.
 */
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Report } from '../../src/report/types.js';
import { inputEnv } from './runner.js';

const ROOT = path.resolve(import.meta.dirname, '../..');

const cleanups: string[] = [];
afterEach(() => {
  for (const dir of cleanups.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

const git = (cwd: string, ...args: string[]) =>
  execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args], {
    cwd,
    encoding: 'utf8',
  }).trim();

interface Fixture {
  root: string;
  repo: string;
  hosts: string;
  sha: string;
}

/** A repository shipping its folder `app` to two local targets, canary first. */
function fixture(): Fixture {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'diffship-local-action-'));
  cleanups.push(root);
  const repo = path.join(root, 'repo');
  const hosts = path.join(root, 'hosts');
  fs.mkdirSync(path.join(repo, 'app'), { recursive: true });
  for (const host of ['canary', 'web-1']) fs.mkdirSync(path.join(hosts, host), { recursive: true });
  fs.writeFileSync(path.join(repo, 'app', 'a.xml'), '<a/>\n');
  fs.writeFileSync(path.join(repo, 'app', 'b.xml'), '<b/>\n');
  fs.writeFileSync(
    path.join(repo, 'diffship.yml'),
    'source: app\ntargets:\n  - name: canary\n    path: ../hosts/canary\n  - name: web-1\n    path: ../hosts/web-1\n',
  );
  git(repo, 'init', '-q', '-b', 'main');
  git(repo, 'add', '-A');
  git(repo, 'commit', '-q', '-m', 'r1');
  return { root, repo, hosts, sha: git(repo, 'rev-parse', 'HEAD') };
}

interface LocalRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** name → value from the stub's `::set-output name=…::…` lines. */
  outputs: Record<string, string>;
  summary: string;
}

/** `npx local-action run <repo root> src/action/main.ts <env file>` with `inputs` in the env file. */
function localAction(fx: Fixture, inputs: Record<string, string>): Promise<LocalRun> {
  const runner = fs.mkdtempSync(path.join(fx.root, 'runner-'));
  const summary = path.join(runner, 'summary');
  const temp = path.join(runner, 'temp');
  fs.writeFileSync(summary, '');
  fs.mkdirSync(temp);
  const vars = {
    ...inputEnv(inputs),
    GITHUB_WORKSPACE: fx.repo,
    GITHUB_SHA: fx.sha,
    GITHUB_STEP_SUMMARY: summary,
    GITHUB_EVENT_NAME: 'push',
    RUNNER_TEMP: temp,
  };
  const envFile = path.join(runner, '.env');
  fs.writeFileSync(
    envFile,
    Object.entries(vars)
      .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
      .join('\n') + '\n',
  );
  // Only what a shell has: nothing of a runner that may be running this test
  // (GITHUB_*, ACTIONS_RUNTIME_TOKEN, INPUT_*) leaks into the action. Node 24
  // and node_modules/.bin first, as under `npm test`; a fresh HOME keeps the
  // user's npm config out.
  const env = {
    PATH: [path.join(ROOT, 'node_modules', '.bin'), path.dirname(process.execPath), process.env.PATH].join(
      path.delimiter,
    ),
    HOME: runner,
    NO_UPDATE_NOTIFIER: '1',
    npm_config_update_notifier: 'false',
  };
  return new Promise((resolve, reject) => {
    const child = spawn('npx', ['--no-install', 'local-action', 'run', ROOT, 'src/action/main.ts', envFile], {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      // eslint-disable-next-line no-control-regex
      stdout = stdout.replace(/\x1b\[[0-9;]*m/g, '');
      const outputs: Record<string, string> = {};
      for (const m of stdout.matchAll(/^::set-output name=([^:]+)::(.*)$/gm)) outputs[m[1]!] = m[2]!;
      resolve({ code, stdout, stderr, outputs, summary: fs.readFileSync(summary, 'utf8') });
    });
  });
}

const files = (dir: string) =>
  fs
    .readdirSync(dir)
    .filter((n) => !n.startsWith('.diffship'))
    .sort();

describe('npx local-action run . src/action/main.ts .env', () => {
  it('plans: outputs, log groups and job summary, and no target touched', async () => {
    const fx = fixture();
    const run = await localAction(fx, { command: 'plan', config: 'diffship.yml' });
    const all = run.stdout + run.stderr;
    expect(run.code, all).toBe(0);
    // local-action ran our run(), with its own @actions/core stub in place of ours.
    expect(run.stdout).toContain('Running Action');
    expect(run.stdout).toMatch(/Action Outputs[\s\S]*'status'\s*│\s*'planned'/);
    expect(run.outputs, all).toMatchObject({
      status: 'planned',
      changed: 'true',
      added: '["a.xml","b.xml"]',
      updated: '[]',
      deleted: '[]',
      'deployed-targets': '["canary","web-1"]',
      'failed-targets': '[]',
      matrix: '{"include":[{"wave":0,"targets":"canary"},{"wave":1,"targets":"web-1"}]}',
    });
    expect(run.stdout).toMatch(/^::group::canary: planned \(wave 1, \+2 ~0 -0/m);
    expect(run.stdout).toMatch(/^::group::web-1: planned \(wave 2/m);
    expect(run.stdout).toContain(`diffship plan of ${fx.sha.slice(0, 7)}: planned (2 targets, 2 waves)`);
    expect(run.stdout).not.toMatch(/^::error/m);
    expect(run.summary).toMatch(/^## 📝 diffship plan: planned/);
    const report = JSON.parse(fs.readFileSync(run.outputs.report!, 'utf8')) as Report;
    expect(report).toMatchObject({ command: 'plan', status: 'planned', to: fx.sha });
    expect(report.targets.map((t) => t.name)).toEqual(['canary', 'web-1']);
    for (const host of ['canary', 'web-1']) expect(fs.readdirSync(path.join(fx.hosts, host))).toEqual([]);
  });

  it('deploys to the local targets', async () => {
    const fx = fixture();
    const run = await localAction(fx, { command: 'deploy', config: 'diffship.yml' });
    const all = run.stdout + run.stderr;
    expect(run.code, all).toBe(0);
    expect(run.outputs, all).toMatchObject({
      status: 'succeeded',
      changed: 'true',
      'deployed-targets': '["canary","web-1"]',
    });
    expect(run.stdout).not.toMatch(/^::error/m);
    expect(run.summary).toMatch(/^## ✅ diffship deploy: succeeded/);
    for (const host of ['canary', 'web-1']) {
      expect(files(path.join(fx.hosts, host))).toEqual(['a.xml', 'b.xml']);
      expect(fs.readFileSync(path.join(fx.hosts, host, 'b.xml'), 'utf8')).toBe('<b/>\n');
    }
  });

  it('deploys a built folder (input dir) with a release name; the same build again changes nothing', async () => {
    const fx = fixture();
    const build = path.join(fx.repo, 'build', 'carbonapps');
    fs.mkdirSync(build, { recursive: true });
    fs.writeFileSync(path.join(build, 'orders.car'), 'PK car 1\r\n');
    const inputs = {
      command: 'deploy',
      config: 'diffship.yml',
      dir: 'build/carbonapps',
      'release-name': 'build-7',
    };
    const first = await localAction(fx, inputs);
    expect(first.code, first.stdout + first.stderr).toBe(0);
    const report = JSON.parse(fs.readFileSync(first.outputs.report!, 'utf8')) as Report;
    expect(report).toMatchObject({
      status: 'succeeded',
      ref: 'build-7',
      dir: path.join(fx.repo, 'build/carbonapps'),
    });
    // The build's objects went into the repository: its tree is the release id.
    expect(git(fx.repo, 'cat-file', '-t', report.to)).toBe('tree');
    expect(git(fx.repo, 'ls-tree', '--name-only', report.to)).toBe('orders.car');
    for (const host of ['canary', 'web-1'])
      expect(fs.readFileSync(path.join(fx.hosts, host, 'orders.car'), 'utf8')).toBe('PK car 1\r\n');
    const again = await localAction(fx, inputs);
    expect(again.code, again.stdout + again.stderr).toBe(0);
    expect(again.outputs.changed).toBe('false');
  });
});
