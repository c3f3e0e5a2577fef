/**
 * Shared pieces of the end-to-end rollout tests: a temp folder holding a real
 * git repository, a diffship.yml, target folders and (optionally) example
 * hosts serving them; the real CLI run as a child process; the hook log the
 * configs' hooks append to.
 */
import {
  existsSync,
  readFileSync,
  readdirSync,
  realpathSync,
  writeFileSync,
  mkdirSync,
  rmSync,
} from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import type { Report } from '../../src/report/types.js';
import { cliStart, type CliResult } from '../helpers/cli.js';
import { CTL, startHost, type RunningHost } from '../helpers/host.js';
import { makeRepo, snapshot, type SnapEntry, type Tree } from '../helpers/repo.js';
import { git, tempDir } from '../helpers/git.js';

export { liveInGroup } from '../helpers/processes.js';

/** A workflow file the example host loads; a step type it does not know makes it invalid (503). */
export function workflow(name: string, steps: string[] = ['receive', 'send']): string {
  return `${JSON.stringify({ name, steps: steps.map((type) => ({ type })) }, null, 2)}\n`;
}

/** `node ctl.mjs <args>` with this Node, for hooks (no reliance on PATH). */
export function ctl(args: string): string {
  return `"${process.execPath}" "${CTL}" ${args}`;
}

/** A hook command that appends `<event> <target>` to hooks.log in the config folder. */
export function logLine(event: string): string {
  return `echo "${event} {name}" >> hooks.log`;
}

export interface CliRun extends CliResult {
  report: Report;
  /** Milliseconds from spawn to exit. */
  ms: number;
}

export class Fleet {
  readonly root: string;
  readonly repo = makeRepo();
  readonly hosts = new Map<string, RunningHost>();
  private runs = 0;

  constructor() {
    this.root = realpathSync(tempDir('diffship-e2e-'));
    mkdirSync(path.join(this.root, 'targets'));
  }

  /** Commit `files` (below `workflows/`) as the next release and tag it. Returns the SHA. */
  release(tag: string, files: Record<string, string>): string {
    const tree: Tree = {};
    for (const [p, text] of Object.entries(files)) tree[`workflows/${p}`] = text;
    const sha = this.repo.commit(tree, tag);
    git(this.repo.dir, 'tag', tag);
    return sha;
  }

  /** `git rev-parse <tag>:workflows/<file>`: the blob id the host must report. */
  blob(tag: string, file: string): string {
    return git(this.repo.dir, 'rev-parse', `${tag}:workflows/${file}`);
  }

  dir(name: string): string {
    return path.join(this.root, 'targets', name);
  }

  /** Start an example host serving `dir(name)` (created empty). */
  async startHost(name: string, importMode: 'automatic' | 'on-restart' = 'automatic'): Promise<RunningHost> {
    mkdirSync(this.dir(name), { recursive: true });
    const h = await startHost({ dir: this.dir(name), importMode, args: ['--poll-ms', '50', '--name', name] });
    this.hosts.set(name, h);
    return h;
  }

  /** Write a config (as YAML) into the root folder; relative paths in it resolve there. */
  writeConfig(config: Record<string, unknown>, file = 'diffship.yml'): string {
    const full = path.join(this.root, file);
    writeFileSync(full, stringify(config));
    return full;
  }

  /** Start `diffship <command> --config … --repo … --report …` without waiting. */
  start(
    command: string,
    args: string[],
    config = 'diffship.yml',
    env: NodeJS.ProcessEnv = {},
  ): { child: ReturnType<typeof cliStart>['child']; done: Promise<CliRun>; reportFile: string } {
    const reportFile = path.join(this.root, `report-${++this.runs}.json`);
    const t0 = Date.now();
    const { child, done } = cliStart(
      this.root,
      [command, '--config', config, '--repo', this.repo.dir, '--report', reportFile, ...args],
      env,
    );
    return {
      child,
      reportFile,
      done: done.then((r) => {
        const ms = Date.now() - t0;
        if (!existsSync(reportFile)) throw new Error(`no report written (exit ${r.code}):\n${r.stderr}`);
        return { ...r, ms, report: JSON.parse(readFileSync(reportFile, 'utf8')) as Report };
      }),
    };
  }

  /** `diffship deploy --to <ref> …` and wait for it. */
  deploy(to: string, args: string[] = [], config?: string, env?: NodeJS.ProcessEnv): Promise<CliRun> {
    return this.start('deploy', ['--to', to, ...args], config, env).done;
  }

  /** Lines of hooks.log (written by `logLine` hooks), from line `from` on. */
  hookLog(from = 0): string[] {
    const file = path.join(this.root, 'hooks.log');
    if (!existsSync(file)) return [];
    return readFileSync(file, 'utf8').split('\n').filter(Boolean).slice(from);
  }

  /** Every entry of a target folder, the state folder included unless `skipState`. */
  tree(name: string, skipState = false): Record<string, SnapEntry> {
    return snapshot(this.dir(name), skipState ? ['.diffship'] : []);
  }

  /** The target's recorded state (`.diffship/state.json`), or null. */
  state(name: string): { release: string; previousRelease: string | null; deployId: string } | null {
    const file = path.join(this.dir(name), '.diffship/state.json');
    return existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : null;
  }

  /** Leftovers of an unfinished deploy: a lock, a journal, staged files. */
  leftovers(name: string): string[] {
    const state = path.join(this.dir(name), '.diffship');
    if (!existsSync(state)) return [];
    const out: string[] = readdirSync(state).filter((n) => n === 'lock.json' || n === 'journal.json');
    const staging = path.join(state, 'staging');
    if (existsSync(staging)) out.push(...readdirSync(staging).map((n) => `staging/${n}`));
    return out;
  }

  async cleanup(): Promise<void> {
    for (const h of this.hosts.values()) await h.stop();
    this.hosts.clear();
    this.repo.cleanup();
    rmSync(this.root, { recursive: true, force: true });
  }
}

/** The step names of a target in the report, in order. */
export function stepNames(report: Report, target: string): string[] {
  return (report.targets.find((t) => t.name === target)?.steps ?? []).map((s) => s.name);
}

/** A target's report entry (throws when absent, so a test fails with a clear message). */
export function targetOf(report: Report, name: string): Report['targets'][number] {
  const t = report.targets.find((x) => x.name === name);
  if (!t) throw new Error(`no target ${name} in the report`);
  return t;
}

/** Workflow files the host has loaded, path → blob. */
export async function loaded(host: RunningHost): Promise<Record<string, string>> {
  const w = await host.json<{ files: Array<{ path: string; blob: string }> }>('/workflows');
  return Object.fromEntries(w.files.map((f) => [f.path, f.blob]));
}
