/**
 * End to end: SIGTERM during the long phases of a big first deploy (issue 13:
 * SIGTERM ends any deploy within 5 s). Planning 30,000 files and staging them
 * each take seconds; both stop at the signal instead of running to their end,
 * and the target is left as it was: no file, no lock, no staging, no journal.
 * A signal during the commit is undone (or left to the next run). A later
 * deploy then goes through as if nothing had happened.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cli, cliStart, type CliResult } from '../helpers/cli.js';
import { git, tempDir } from '../helpers/git.js';
import { waitFor } from '../helpers/host.js';

const FILES = 30_000;
let repo: string;
let ws: string;
const target = () => join(ws, 'target');

/** A release of FILES small files, 200 to a folder, in one `git fast-import`. */
function bigRepo(): string {
  const dir = tempDir('diffship-signal-repo-');
  git(dir, 'init', '-q', '-b', 'main');
  const parts: string[] = [
    'commit refs/heads/main',
    'committer T <t@example.com> 1700000000 +0000',
    'data 1',
    'r',
  ];
  for (let i = 0; i < FILES; i++) {
    const body = `<flow id="${i}"/>\n`;
    parts.push(`M 100644 inline flows/f${Math.floor(i / 200)}/flow-${i}.xml`, `data ${body.length}`, body);
  }
  const r = spawnSync('git', ['-C', dir, 'fast-import', '--quiet'], { input: parts.join('\n') + '\n' });
  if (r.status !== 0) throw new Error(`git fast-import: ${r.stderr.toString()}`);
  return dir;
}

/** What the target holds besides the state folder, and what the state folder holds that it should not. */
function leftovers(): { files: string[]; state: string[] } {
  if (!existsSync(target())) return { files: [], state: [] };
  const files = readdirSync(target()).filter((n) => n !== '.diffship');
  const dir = join(target(), '.diffship');
  const state = existsSync(dir) ? readdirSync(dir, { recursive: true }).map(String) : [];
  // An empty staging folder is the parent of every deploy's own: nothing staged in it.
  return { files, state: state.filter((n) => n !== 'staging') };
}

/** Start a deploy, send SIGTERM once stderr shows `line`; the run and the ms from signal to exit. */
async function deployAndSignal(
  line: RegExp,
  extra: string[] = [],
): Promise<{ run: CliResult; exitMs: number; report: Report }> {
  const reportFile = join(ws, `report-${Date.now()}.json`);
  const started = cliStart(ws, ['deploy', '--repo', repo, '--to', 'main', '--report', reportFile, ...extra]);
  let stderr = '';
  started.child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  await waitFor(() => line.test(stderr), 60_000, `${line} in the progress`);
  const signalledAt = Date.now();
  started.child.kill('SIGTERM');
  const run = await started.done;
  const exitMs = Date.now() - signalledAt;
  return { run, exitMs, report: JSON.parse(readFileSync(reportFile, 'utf8')) as Report };
}

interface Report {
  status: string;
  targets: Array<{
    status: string;
    error?: string;
    steps: Array<{ name: string; status: string; detail: string }>;
  }>;
}

beforeAll(() => {
  repo = bigRepo();
  ws = tempDir('diffship-signal-ws-');
  writeFileSync(join(ws, 'diffship.yml'), 'targets:\n  - { name: t, path: target }\n');
}, 60_000);
afterAll(() => {
  spawnSync('rm', ['-rf', repo, ws]);
});

it('a signal while the deploy plans stops the plan, not after it', async () => {
  // Without preflight the deploy plans once it holds the lock (with it, a missing folder's
  // plan is preflight's, kept-plans.ts).
  const { run, exitMs, report } = await deployAndSignal(/\[t\] lock ok/, ['--skip-preflight']);
  expect(run.code, run.stderr).toBe(1);
  expect(exitMs).toBeLessThan(5000);
  expect(report.status).toBe('cancelled');
  const t = report.targets[0]!;
  expect(t.status).toBe('skipped');
  expect(t.steps.find((s) => s.name === 'plan')).toMatchObject({ status: 'failed' });
  expect(t.steps.find((s) => s.name === 'plan')!.detail).toMatch(/cancelled during the plan/);
  expect(t.steps.map((s) => s.name)).not.toContain('apply');
  expect(leftovers()).toEqual({ files: [], state: [] });
}, 90_000);

it('a signal while files are staged stops the staging and removes it', async () => {
  const { run, exitMs, report } = await deployAndSignal(/\[t\] stage \d+\/30000/);
  expect(run.code, run.stderr).toBe(1);
  expect(exitMs).toBeLessThan(5000);
  expect(report.status).toBe('cancelled');
  const t = report.targets[0]!;
  expect(t.status).toBe('failed');
  expect(t.error).toMatch(/cancelled during staging/);
  // Nothing was committed, so there is nothing to roll back: the staging went, the lock was released.
  expect(t.steps.map((s) => s.name)).not.toContain('rollback');
  expect(t.steps.find((s) => s.name === 'unlock')).toMatchObject({ status: 'ok' });
  expect(leftovers()).toEqual({ files: [], state: [] });
}, 90_000);

it('a signal during the commit ends the run within 5 s, the target left for the next run to finish or undo', async () => {
  const { run, exitMs, report } = await deployAndSignal(/\[t\] commit \d+\/30000/);
  expect(run.code, run.stderr).toBe(1);
  expect(exitMs).toBeLessThan(5000);
  expect(report.status).toBe('cancelled');
  // Undone at once (rolled back), or, cut off by the hard stop, left with its journal: the next test's deploy converges.
  expect(['rolled-back', 'failed']).toContain(report.targets[0]!.status);
}, 90_000);

it('a later deploy finds the target free and ships the whole release', () => {
  const again = cli(ws, ['deploy', '--repo', repo, '--to', 'main', '--no-progress']);
  expect(again.code, again.stderr).toBe(0);
  expect(readdirSync(join(target(), 'flows')).length).toBe(FILES / 200);
  expect(readFileSync(join(target(), 'flows/f3/flow-777.xml'), 'utf8')).toBe('<flow id="777"/>\n');
  expect(existsSync(join(target(), '.diffship/lock.json'))).toBe(false);
}, 120_000);
