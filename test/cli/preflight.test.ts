/**
 * Preflight before wave 1 (issue 11), through the real CLI on a real repository
 * and real target folders: a drifted host in wave 2, or a locked one, stops the
 * rollout with exit 2 before wave 1 is touched, naming the target and the
 * reason; `--skip-preflight` restores the old wave-by-wave behaviour.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Report } from '../../src/report/types.js';
import { cli } from '../helpers/cli.js';
import { makeRepo, snapshot } from '../helpers/repo.js';
import { git, tempDir } from '../helpers/git.js';

let repo: ReturnType<typeof makeRepo>;
let v1: string;
const dirs: string[] = [];

beforeAll(() => {
  repo = makeRepo();
  v1 = repo.commit({ 'wf/a.json': 'a1\n', 'wf/b.json': 'b1\n' });
  git(repo.dir, 'tag', 'v1');
  repo.commit({ 'wf/a.json': 'a2\n', 'wf/b.json': 'b1\n' });
  git(repo.dir, 'tag', 'v2');
});
afterAll(() => {
  repo.cleanup();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Two targets, one per wave, both at v1. */
function fleet(): string {
  const ws = tempDir('diffship-preflight-');
  dirs.push(ws);
  writeFileSync(
    join(ws, 'diffship.yml'),
    [
      'source: wf',
      'waves: [1, "100%"]',
      'targets:',
      '  - { name: canary, type: local, path: t/canary }',
      '  - { name: web-2, type: local, path: t/web-2 }',
      '',
    ].join('\n'),
  );
  expect(deploy(ws, ['--to', 'v1']).code).toBe(0);
  return ws;
}
function deploy(ws: string, args: string[]) {
  const r = cli(ws, ['deploy', '--repo', repo.dir, '--no-progress', '--json', ...args]);
  return { ...r, report: JSON.parse(r.stdout || '{}') as Report };
}
const release = (ws: string, name: string) =>
  (JSON.parse(readFileSync(join(ws, 't', name, '.diffship/state.json'), 'utf8')) as { release: string })
    .release;

describe('preflight', () => {
  it('a drifted host in wave 2 stops the rollout before wave 1 is touched (exit 2)', () => {
    const ws = fleet();
    writeFileSync(join(ws, 't/web-2/a.json'), 'edited by hand\n');
    const canaryBefore = snapshot(join(ws, 't/canary'), []);

    const r = deploy(ws, ['--to', 'v2']);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(
      /^diffship: preflight: web-2: 1 file\(s\) changed on the target since release [0-9a-f]{12}: a\.json/m,
    );
    const [canary, web2] = r.report.targets;
    expect(web2).toMatchObject({ status: 'failed', steps: [{ name: 'preflight', status: 'failed' }] });
    expect(web2!.error).toMatch(/^preflight: 1 file\(s\) changed on the target/);
    expect(canary).toMatchObject({
      status: 'skipped',
      steps: [],
      error: 'not started: preflight failed on web-2',
    });
    // Nothing written anywhere: not a byte, not a lock, not a backup.
    expect(snapshot(join(ws, 't/canary'), [])).toEqual(canaryBefore);
    expect(release(ws, 'canary')).toBe(v1);
    expect(readFileSync(join(ws, 't/web-2/a.json'), 'utf8')).toBe('edited by hand\n');

    // --skip-preflight: wave 1 ships, then web-2 fails on its drift (exit 1).
    const skipped = deploy(ws, ['--to', 'v2', '--skip-preflight']);
    expect(skipped.code).toBe(1);
    expect(skipped.report.targets.map((t) => t.status)).toEqual(['deployed', 'failed']);
    expect(readFileSync(join(ws, 't/canary/a.json'), 'utf8')).toBe('a2\n');
  });

  it('a target locked by a live deploy fails preflight, naming the holder', () => {
    const ws = fleet();
    const lock = {
      deployId: '20260101T000000000Z-abcdef',
      command: 'deploy',
      user: 'someone',
      host: hostname(),
      pid: process.pid, // alive: this test's own process
      since: new Date().toISOString(),
      leaseUntil: new Date(Date.now() + 600_000).toISOString(),
    };
    writeFileSync(join(ws, 't/web-2/.diffship/lock.json'), JSON.stringify(lock));
    const r = deploy(ws, ['--to', 'v2']);
    expect(r.code).toBe(2);
    expect(r.report.targets[1]!.error).toMatch(
      /^preflight: .*t\/web-2 is locked by someone@.* — wait for it, or run `diffship unlock --targets web-2`/,
    );
    expect(release(ws, 'canary')).toBe(v1);
  });
});
