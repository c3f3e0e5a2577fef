/**
 * `diffship demo`: three example hosts, a repository with three releases, and
 * three rollouts, narrated. v1 goes everywhere, v2 goes canary-first, v3 is
 * broken: its canary fails verification and is rolled back, and the other
 * hosts never see it. A last step deploys packages to a package server, one
 * unit at a time (src/demo/packages.ts). The rollouts are the library's `rollout()`, shown with
 * the CLI's own live progress and summary table.
 */
import { copyFile, mkdir, mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig, withOverrides } from '../config/load.js';
import type { ResolvedConfig } from '../config/types.js';
import { DiffshipError } from '../errors.js';
import type { Paint } from '../report/terminal.js';
import type { Report } from '../report/types.js';
import { writeReportFile } from '../report/write.js';
import { demoConfig, VERIFY_TIMEOUT } from './config.js';
import { runPackageStep } from './packages.js';
import { DemoHosts, request, type DemoHost } from './hosts.js';
import { buildDemoRepo, RELEASES, releaseBlobs, type DemoRelease } from './releases.js';

/** One rollout shown the way the caller shows rollouts (the CLI: live progress and the summary table). */
type ShowRollout = (options: {
  config: ResolvedConfig;
  repo: string;
  to: string;
  signal?: AbortSignal;
}) => Promise<Report>;

export interface DemoOptions {
  /** Folder to work in (created if missing, must be empty). Default: a fresh temp folder. */
  dir?: string;
  /** Where the narration goes. */
  out: { stdout: NodeJS.WritableStream };
  /** Colours for the narration (identity for none). */
  paint: Paint & { cyan(s: string): string };
  /** Runs and shows each rollout; the demo only narrates around it. */
  showRollout: ShowRollout;
  /** Environment for `${VAR}` in the demo's config. */
  env?: NodeJS.ProcessEnv;
  /** Abort (Ctrl-C) to stop: the rollout in flight is cancelled and rolled back. */
  signal?: AbortSignal;
  /** Where started hosts are tracked; the caller stops them however the demo ends. */
  hosts: DemoHosts;
}

export interface DemoResult {
  /** True when every step turned out as designed (v3 refused at the canary included). */
  ok: boolean;
  dir: string;
  /** The report files written, in order. */
  reports: string[];
  /** What did not turn out as designed. */
  problems: string[];
}

/** Thrown when the demo was interrupted; `runDemo` callers exit 1. */
export class DemoCancelled extends DiffshipError {
  constructor() {
    super('E_CANCELLED', 'demo interrupted');
    this.name = 'DemoCancelled';
  }
}

const HOSTS: ReadonlyArray<{ name: string; importMode: DemoHost['importMode'] }> = [
  { name: 'host-a', importMode: 'automatic' },
  { name: 'host-b', importMode: 'automatic' },
  { name: 'host-c', importMode: 'on-restart' },
];

interface HostView {
  release: string | null;
  files: Record<string, string>;
  invalid: string[];
  health: number;
  inService: boolean;
}

/** What a host runs, asked over HTTP as a load balancer or a person would. */
async function viewOf(host: DemoHost): Promise<HostView> {
  const w = JSON.parse((await request(host, '/workflows')).body) as {
    release: string | null;
    files: Array<{ path: string; blob: string; valid: boolean }>;
  };
  return {
    release: w.release,
    files: Object.fromEntries(w.files.map((f) => [f.path, f.blob])),
    invalid: w.files.filter((f) => !f.valid).map((f) => f.path),
    health: (await request(host, '/health')).status,
    inService: (await request(host, '/in-service')).status === 200,
  };
}

function sameFiles(a: Record<string, string>, b: Record<string, string>): boolean {
  const keys = Object.keys(a).sort();
  return JSON.stringify(keys) === JSON.stringify(Object.keys(b).sort()) && keys.every((k) => a[k] === b[k]);
}

/** Run the demo. Throws DemoCancelled when `signal` aborts; other throws are real errors. */
// eslint-disable-next-line max-lines-per-function -- a narrated script: the five steps read top to bottom in the order the user sees them
export async function runDemo(options: DemoOptions): Promise<DemoResult> {
  const { out, signal, hosts, showRollout } = options;
  const c = options.paint;
  const say = (text = '') => out.stdout.write(`${text}\n`);
  const step = (n: number, title: string) => {
    say();
    say(c.bold(c.cyan(`── ${n}/6  ${title} `.padEnd(72, '─'))));
  };
  const check = () => {
    if (signal?.aborted) throw new DemoCancelled();
  };
  const problems: string[] = [];
  const reports: string[] = [];

  const dir = await prepareDir(options.dir);
  const repoDir = path.join(dir, 'repo');
  const reportDir = path.join(dir, 'reports');
  const rel = (p: string) => path.relative(dir, p) || '.';
  const { ctl } = DemoHosts.files();

  say(c.bold('diffship demo'));
  say('Three stand-in integration hosts on this machine, a git repository with three');
  say('releases, and three rollouts. Nothing to set up; everything lives in');
  say(`  ${dir}`);
  say('and every host is stopped when the demo ends.');

  // 1. Hosts.
  step(1, 'Start three example hosts');
  say('Each host is examples/host/server.mjs: a small server that loads workflow');
  say('files from its own folder, like an integration engine, and answers GET /health');
  say('(200, or 503 while a loaded workflow is broken) and GET /workflows (what it');
  say('runs, with git blob ids). It has an in-service switch, like a load balancer.');
  say();
  const started: DemoHost[] = [];
  for (const h of HOSTS) {
    check();
    const host = await hosts.start({
      name: h.name,
      dir: path.join(dir, 'hosts', h.name),
      importMode: h.importMode,
      logDir: path.join(dir, 'logs'),
      signal,
    });
    started.push(host);
    const how = h.importMode === 'automatic' ? 'imports files as they arrive' : 'imports on restart only';
    say(`  ${h.name}  ${host.url.padEnd(24)} ${rel(host.dir).padEnd(14)} ${how}`);
  }

  // 2. Repository and config.
  check();
  step(2, 'Build a git repository with three releases');
  const shas = await buildDemoRepo(repoDir);
  const tagOf = (sha: string | null) =>
    (Object.entries(shas).find(([, s]) => s === sha)?.[0] ?? (sha ? sha.slice(0, 12) : 'nothing')) as string;
  for (const r of RELEASES) say(`  ${r.tag}  ${shas[r.tag].slice(0, 12)}  ${r.summary}`);
  await copyFile(ctl, path.join(dir, 'ctl.mjs'));
  const configFile = path.join(dir, 'diffship.yml');
  await writeFile(configFile, demoConfig(started));
  say();
  say("The config, diffship.yml in that folder, ships the repository's workflows/");
  say('folder and gives every host the same four hooks:');
  say('  before    drain it (node ctl.mjs drain): no traffic meets a half-updated host');
  say('  activate  host-c is restarted so it imports; the others import on arrival');
  say(`  verify    GET /health must answer 200 with "release: <the SHA being shipped>",`);
  say(`            twice in a row, within ${VERIFY_TIMEOUT}`);
  say('  after     put it back in service (node ctl.mjs enable), also after a failure');
  const config = await loadConfig(configFile, { env: options.env ?? process.env });

  const deploy = async (release: DemoRelease['tag'], cfg: ResolvedConfig, flags: string): Promise<Report> => {
    check();
    say();
    say(c.dim(`$ diffship deploy --repo repo --to ${release}${flags}`));
    const report = await showRollout({ config: cfg, repo: repoDir, to: release, signal });
    const file = path.join(reportDir, `${release}.json`);
    await writeReportFile(file, report);
    reports.push(file);
    say(`report: ${file}`);
    if (report.status === 'cancelled') throw new DemoCancelled();
    return report;
  };

  // 3. v1 everywhere.
  step(3, 'Roll out v1 to every host');
  say('A first install: all three hosts at once (one wave of 100%). Every file is');
  say('written complete into a staging folder on the host, checked against its git');
  say('blob id, and only then renamed into place: no host loads a half-written file.');
  const r1 = await deploy(
    'v1',
    withOverrides(config, { waves: '100%', maxParallel: 3 }),
    ' --waves 100% --max-parallel 3',
  );
  if (r1.status !== 'succeeded') problems.push(`v1: expected every host deployed, got ${r1.status}`);
  else say(c.green('→ every host runs v1.'));

  // 4. v2 canary first.
  step(4, 'Roll out v2, canary first');
  say('Waves [1, "100%"]: host-a goes alone. Only once it passes its health check on v2');
  say('do host-b and host-c follow, together. diffship ships only the diff v1 → v2 (one');
  say('file changed, one added) and records on each host the release it now holds.');
  const r2 = await deploy('v2', config, '');
  if (r2.status !== 'succeeded') problems.push(`v2: expected every host deployed, got ${r2.status}`);
  else say(c.green('→ every host runs v2, one wave after the other.'));

  // 5. v3, broken.
  step(5, 'Roll out v3, which is broken');
  say('v3 has a typo in billing-out.json. The canary, host-a, will load it and answer');
  say(`503: its check fails after ${VERIFY_TIMEOUT}, diffship restores its files byte for byte and`);
  say('returns it to service. max-failures is 0, so the second wave never starts.');
  const r3 = await deploy('v3', config, '');
  const [canary, ...rest] = started;
  const statusOf = (name: string) => r3.targets.find((t) => t.name === name)?.status;
  if (r3.status !== 'failed') problems.push(`v3: expected the rollout to fail, got ${r3.status}`);
  if (statusOf(canary!.name) !== 'rolled-back')
    problems.push(`v3: expected ${canary!.name} rolled back, got ${statusOf(canary!.name)}`);
  for (const h of rest) {
    if (statusOf(h.name) !== 'skipped')
      problems.push(`v3: expected ${h.name} skipped, got ${statusOf(h.name)}`);
  }

  // Prove it: ask each host what it runs.
  check();
  say();
  say('What each host runs now, asked over HTTP (GET /workflows, /health, /in-service):');
  const v2Blobs = await releaseBlobs(repoDir, 'v2');
  for (const h of started) {
    // The canary re-imports its restored files by itself: give it a moment.
    const deadline = Date.now() + 5000;
    let view = await viewOf(h);
    while (
      (view.release !== shas.v2 || !sameFiles(view.files, v2Blobs) || view.health !== 200) &&
      Date.now() < deadline
    ) {
      await new Promise((r) => setTimeout(r, 100));
      view = await viewOf(h);
    }
    const fine =
      view.release === shas.v2 && sameFiles(view.files, v2Blobs) && view.health === 200 && view.inService;
    const story = h === canary ? 'v3 failed, rolled back' : 'never got v3';
    const line = `  ${h.name}  runs ${tagOf(view.release)}  ${Object.keys(view.files).length} workflows  /health ${view.health}  ${view.inService ? 'in service' : 'OUT OF SERVICE'}  ${story}`;
    say(fine ? line : c.red(line));
    if (!fine) {
      problems.push(
        `${h.name}: expected v2 (${Object.keys(v2Blobs).length} workflows, healthy, in service), found ${tagOf(view.release)}${view.invalid.length ? `, invalid: ${view.invalid.join(', ')}` : ''}, /health ${view.health}`,
      );
    }
  }

  // 6. Packages: units activated one by one, in dependency order.
  check();
  step(6, 'Deploy packages to a package server, one unit at a time');
  say('A webMethods-like server (examples/package-host) loads packages/<Name>/ folders');
  say('with a manifest.v3. With units: diffship reloads only the packages a release');
  say('changes, dependencies first, checks each one loaded, and rolls back a package');
  say('that loads partial.');
  await runPackageStep({
    dir,
    say,
    ok: (t) => c.green(t),
    problems,
    env: options.env ?? process.env,
    deploy: async (release, cfg, repo) => {
      check();
      say();
      say(c.dim(`$ diffship deploy --config packages.yml --repo packages-repo --to ${release}`));
      const report = await showRollout({ config: cfg, repo, to: release, signal });
      const file = path.join(reportDir, `${release}.json`);
      await writeReportFile(file, report);
      reports.push(file);
      if (report.status === 'cancelled') throw new DemoCancelled();
      return report;
    },
  });

  say();
  if (problems.length === 0) {
    say(c.green(c.bold('The demo behaved as designed: v3 stopped at the canary; every host runs v2.')));
  } else {
    say(c.red(c.bold('The demo did NOT behave as designed:')));
    for (const p of problems) say(c.red(`  - ${p}`));
  }
  say();
  say(`reports  ${reports.join('\n         ')}`);
  say(`folder   ${dir}`);
  say('         diffship.yml, repo/ (three releases), hosts/ (their folders), logs/');
  // The path on a line of its own: a long temp folder must not push the command past the screen.
  say('try      npx diffship diff --from v2 --to v3 \\');
  say(`           --repo ${repoDir}`);
  say(`remove   rm -rf ${dir}`);
  return { ok: problems.length === 0, dir, reports, problems };
}

/** The demo folder: the one given (created, must be empty) or a fresh temp folder. */
async function prepareDir(dir: string | undefined): Promise<string> {
  if (dir === undefined) return mkdtemp(path.join(tmpdir(), 'diffship-demo-'));
  const abs = path.resolve(dir);
  await mkdir(abs, { recursive: true });
  if ((await readdir(abs)).length > 0) {
    throw new DiffshipError('E_USAGE', `--dir ${abs} is not empty — give an empty or new folder`);
  }
  return abs;
}
