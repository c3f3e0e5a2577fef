/**
 * The built action (lib/action/index.js, what ncc bundles into dist/) run as a
 * runner runs it, and a reader of its stdout that treats lines the way the
 * runner does: which of them become workflow commands.
 */
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inputEnv, readOutputs } from '../action/runner.js';

const ACTION = path.resolve(import.meta.dirname, '../../lib/action/index.js');

const git = (cwd: string, ...args: string[]) =>
  execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args], {
    cwd,
    encoding: 'utf8',
  }).trim();

export interface Fixture {
  root: string;
  repo: string;
  hosts: string;
  /** Write `files` (paths under the repo) and commit; returns the SHA. */
  commit(files: Record<string, string>): string;
  cleanup(): void;
}

/** A repository with diffship.yml = `config`, shipping its folder `app` to local targets under `hosts/`. */
export function fixture(config: string, targets: string[] = ['web-1']): Fixture {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'diffship-sec-'));
  const repo = path.join(root, 'repo');
  const hosts = path.join(root, 'hosts');
  fs.mkdirSync(path.join(repo, 'app'), { recursive: true });
  for (const t of targets) fs.mkdirSync(path.join(hosts, t), { recursive: true });
  git(repo, 'init', '-q', '-b', 'main');
  const commit = (files: Record<string, string>) => {
    for (const [name, content] of Object.entries(files)) {
      const file = path.join(repo, name);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, content);
    }
    git(repo, 'add', '-A');
    git(repo, 'commit', '-q', '-m', 'release');
    return git(repo, 'rev-parse', 'HEAD');
  };
  commit({ 'diffship.yml': config, 'app/index.html': '<p>1</p>\n' });
  return { root, repo, hosts, commit, cleanup: () => fs.rmSync(root, { recursive: true, force: true }) };
}

export interface ActionRun {
  code: number | null;
  stdout: string;
  stderr: string;
  outputs: Record<string, string>;
  summary: string;
}

/** Run the action with `inputs` (INPUT_*) and extra `env`, as the runner would. */
export function runAction(
  fx: Fixture,
  inputs: Record<string, string>,
  env: Record<string, string> = {},
): Promise<ActionRun> {
  const runner = fs.mkdtempSync(path.join(fx.root, 'runner-'));
  const output = path.join(runner, 'output');
  const summary = path.join(runner, 'summary');
  fs.writeFileSync(output, '');
  fs.writeFileSync(summary, '');
  fs.mkdirSync(path.join(runner, 'temp'));
  const full = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: fx.root,
    GITHUB_WORKSPACE: fx.repo,
    GITHUB_SHA: git(fx.repo, 'rev-parse', 'HEAD'),
    GITHUB_OUTPUT: output,
    GITHUB_STEP_SUMMARY: summary,
    RUNNER_TEMP: path.join(runner, 'temp'),
    GITHUB_EVENT_NAME: 'push',
    ...inputEnv({ command: 'deploy', config: 'diffship.yml', 'report-artifact': '', ...inputs }),
    ...env,
  };
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [ACTION], {
      cwd: fx.repo,
      env: full,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code) =>
      resolve({
        code,
        stdout,
        stderr,
        outputs: readOutputs(output),
        summary: fs.readFileSync(summary, 'utf8'),
      }),
    );
  });
}

/** Commands the runner knows (actions/runner ActionCommandManager); `##[name]` works only for these. */
const REGISTERED = new Set([
  'add-mask',
  'add-path',
  'set-env',
  'set-output',
  'save-state',
  'debug',
  'warning',
  'error',
  'notice',
  'group',
  'endgroup',
  'echo',
  'stop-commands',
  'add-matcher',
  'remove-matcher',
  'internal-set-repo-path',
]);

export interface WorkflowCommand {
  name: string;
  data: string;
  /** `##[name]…` (the old syntax, found anywhere in a line) rather than `::name::…`. */
  legacy: boolean;
  line: string;
}

function parse(line: string, stopToken: string | null): WorkflowCommand | null {
  // ActionCommand.TryParseV2: the line, leading white space trimmed (.NET's, with U+0085), starts with `::`.
  const trimmed = line.replace(/^[\s\u0085]+/, '');
  if (trimmed.startsWith('::')) {
    const end = trimmed.indexOf('::', 2);
    if (end > 2) {
      const name = trimmed.slice(2, end).split(' ')[0]!;
      return { name, data: trimmed.slice(end + 2), legacy: false, line };
    }
  }
  // ActionCommand.TryParse (v1): `##[command props]data` anywhere in the line.
  const at = line.indexOf('##[');
  if (at >= 0) {
    const close = line.indexOf(']', at);
    if (close > at) {
      const name = line.slice(at + 3, close).split(' ')[0]!;
      if (REGISTERED.has(name) || name === stopToken) {
        return { name, data: line.slice(close + 1), legacy: true, line };
      }
    }
  }
  return null;
}

/**
 * The workflow commands the runner would act on in `output`: lines split at
 * `\n`, `\r\n` and a lone `\r` (.NET ReadLine), `::stop-commands::T` honoured
 * until `::T::`. `stopped` is true when output ended with commands stopped.
 */
export function workflowCommands(output: string): { commands: WorkflowCommand[]; stopped: boolean } {
  const commands: WorkflowCommand[] = [];
  let stopToken: string | null = null;
  for (const line of output.split(/\r\n|\r|\n/)) {
    const command = parse(line, stopToken);
    if (!command) continue;
    if (stopToken !== null) {
      if (command.name === stopToken) {
        stopToken = null;
        commands.push({ ...command, name: '(resume)' });
      }
      continue;
    }
    if (command.name === 'stop-commands') stopToken = command.data;
    commands.push(command);
  }
  return { commands, stopped: stopToken !== null };
}
