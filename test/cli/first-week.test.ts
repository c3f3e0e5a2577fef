/**
 * A newcomer's first week, replayed through the built CLI (issue 11, "Errors
 * that show the fix"): a failing hook's reason under the summary, a bare ref,
 * a plan without --to, a slow check in a CI log, what a plan would write, the
 * progress header of plan and rollback, additive deletes, --max-failures.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Report } from '../../src/report/types.js';
import { cli, cliStart } from '../helpers/cli.js';
import { makeRepo } from '../helpers/repo.js';
import { git, tempDir } from '../helpers/git.js';

let repo: ReturnType<typeof makeRepo>;
const dirs: string[] = [];

beforeAll(() => {
  repo = makeRepo();
  repo.commit({ 'wf/a.json': 'a1\n', 'wf/b.json': 'b1\n' }, 'v1');
  git(repo.dir, 'tag', 'v1');
  // v2: a.json grows to 1000 bytes, b.json goes, c.json (300 bytes) is new.
  repo.commit({ 'wf/a.json': 'a'.repeat(999) + '\n', 'wf/c.json': 'c'.repeat(299) + '\n' }, 'v2');
  git(repo.dir, 'tag', 'v2');
});
afterAll(() => {
  repo.cleanup();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A folder with diffship.yml: `extra` lines, then targets soup-a and soup-b (waves 1, then the rest). */
function workspace(extra: string[] = []): string {
  const dir = tempDir('diffship-first-week-');
  dirs.push(dir);
  const lines = [
    'source: wf',
    ...extra,
    'targets:',
    '  - { name: soup-a, type: local, path: t/a }',
    '  - { name: soup-b, type: local, path: t/b }',
  ];
  writeFileSync(join(dir, 'diffship.yml'), `${lines.join('\n')}\n`);
  return dir;
}

const json = (stdout: string) => JSON.parse(stdout) as Report;

describe('errors that show the fix', () => {
  it('a failing hook: the summary is followed by its whole reason and the last lines of its output', () => {
    const ws = workspace(['defaults:', '  before: { run: "echo draining; ./lb-drain" }']);
    for (const progress of [['--no-progress'], []]) {
      // Off a TTY (a CI log), with and without --no-progress.
      const r = cli(ws, ['deploy', '--repo', repo.dir, '--to', 'v1', ...progress]);
      expect(r.code, r.stderr).toBe(1);
      const after = r.stdout.slice(r.stdout.indexOf('failed: deploy v1'));
      expect(after).toContain('\nsoup-a failed: before: run exited with code 127\n');
      expect(after).toContain('  │ draining\n');
      expect(after).toMatch(/ {2}│ \/bin\/sh: 1: \.\/lb-drain: not found\n?$/);
      // A skipped target is not a failure: no reason listed for it.
      expect(after).not.toMatch(/^soup-b /m);
      // The table itself has no cut-off error column, and fits 80 columns.
      for (const line of r.stdout.split('\n').slice(0, 3)) expect(line.length).toBeLessThanOrEqual(80);
      expect(r.stdout.split('\n')[0]).not.toContain('ERROR');
    }
  });

  it('a bare ref suggests --to; plan without --to says it plans HEAD', () => {
    const ws = workspace();
    const bare = cli(ws, ['deploy', '--repo', repo.dir, 'v4']);
    expect(bare.code).toBe(2);
    expect(bare.stdout).toBe('');
    expect(bare.stderr).toBe(
      'diffship: unexpected argument "v4" — the release goes in --to: diffship deploy --to v4\n',
    );
    const planBare = cli(ws, ['plan', '--repo', repo.dir, 'v2']);
    expect(planBare.stderr).toContain('diffship plan --to v2');

    const head = cli(ws, ['plan', '--repo', repo.dir, '--no-progress']);
    expect(head.code, head.stderr).toBe(0);
    expect(head.stderr).toBe('diffship: no --to given: planning HEAD (the commit checked out in --repo)\n');
    expect(head.stdout).toContain('planned: plan HEAD (');
    const given = cli(ws, ['plan', '--repo', repo.dir, '--no-progress', '--to', 'v2']);
    expect(given.stderr).toBe('');
  });

  it('a slow check in a CI log prints a line at least every 5 seconds', async () => {
    const ws = workspace([
      'defaults:',
      '  before: { run: "sleep 6" }',
      '  verify:',
      '    - command: { run: "echo not yet; exit 1", interval: 500ms, timeout: 7s }',
    ]);
    const { child, done } = cliStart(ws, ['deploy', '--repo', repo.dir, '--to', 'v1', '--targets', 'soup-a']);
    const arrivals: Array<{ at: number; text: string }> = [];
    // The monotonic clock: a wall clock stepped meanwhile (seen in CI) is not a gap.
    child.stderr!.on('data', (d: Buffer) => arrivals.push({ at: performance.now(), text: d.toString() }));
    const r = await done;
    expect(r.code).toBe(1);
    // The 6 s hook: still there after 5 s.
    expect(r.stderr).toMatch(/\[soup-a\] before still running \([\d.]+s\)/);
    // The check answers the same for 7 s: repeated at least once, not 14 times.
    const attempts = r.stderr.split('\n').filter((l) => l.includes('[soup-a] command'));
    expect(attempts.length, r.stderr).toBeGreaterThanOrEqual(2);
    expect(attempts.length, r.stderr).toBeLessThan(8);
    expect(r.stderr).toContain('(same as before)');
    const gaps = arrivals.slice(1).map((a, i) => a.at - arrivals[i]!.at);
    expect(Math.max(...gaps), r.stderr).toBeLessThan(6500);
  }, 60_000);
});

describe('plan and the progress header say what runs', () => {
  it('plan shows the bytes a deploy would write; additive keeps, does not list as deleted', () => {
    const ws = workspace();
    expect(cli(ws, ['deploy', '--repo', repo.dir, '--to', 'v1', '--no-progress']).code).toBe(0);
    const r = cli(ws, ['plan', '--repo', repo.dir, '--to', 'v2', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const soup = json(r.stdout).targets[0]!;
    expect(soup.bytes).toBe(1300); // a.json (1000) + c.json (300)
    expect(soup.changes.kept).toEqual(['b.json']);
    expect(soup.changes.deleted).toEqual([]);
    // The progress header (a CI log here) says plan, not deploy.
    expect(r.stderr.split('\n')[0]).toMatch(/^plan \d{8}T\d+Z-[0-9a-f]{6}: release /);
    const human = cli(ws, ['plan', '--repo', repo.dir, '--to', 'v2', '--no-progress']);
    expect(human.stdout).toMatch(/\nsoup-a +1 +planned +1 +1 +0 +0 +1 +0 +1\.3 kB /);

    const authoritative = cli(ws, [
      'plan',
      '--repo',
      repo.dir,
      '--to',
      'v2',
      '--json',
      '--mode',
      'authoritative',
    ]);
    expect(json(authoritative.stdout).targets[0]!.changes.deleted).toEqual(['b.json']);

    const back = cli(ws, ['rollback', '--repo', repo.dir, '--targets', 'soup-a']);
    expect(back.stderr.split('\n')[0]).toMatch(/^rollback \d{8}T/);
  });

  it('--max-failures overrides the config: a failed canary no longer stops the next wave', () => {
    const ws = workspace(['defaults:', '  before: { run: "exit 3" }']);
    const stop = cli(ws, ['deploy', '--repo', repo.dir, '--to', 'v1', '--no-progress', '--json']);
    expect(json(stop.stdout).targets.map((t) => t.status)).toEqual(['failed', 'skipped']);
    const goOn = cli(ws, [
      'deploy',
      '--repo',
      repo.dir,
      '--to',
      'v1',
      '--no-progress',
      '--json',
      '--max-failures',
      '1',
    ]);
    expect(json(goOn.stdout).targets.map((t) => t.status)).toEqual(['failed', 'failed']);
    const percent = cli(ws, [
      'deploy',
      '--repo',
      repo.dir,
      '--to',
      'v1',
      '--no-progress',
      '--json',
      '--max-failures',
      '100%',
    ]);
    expect(json(percent.stdout).targets.map((t) => t.status)).toEqual(['failed', 'failed']);
    const bad = cli(ws, ['deploy', '--repo', repo.dir, '--to', 'v1', '--max-failures', 'some']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe('diffship: --max-failures: expected a count or "N%" (got "some")\n');
  });
});
