/**
 * Preflight starts with the release checks (rollout/early-preflight.ts, issue
 * 13): its reads of the targets overlap git's listing of the release. A check
 * that fails still wins (exit 2, its own message, the target untouched), and a
 * deploy that races the early walk leaves the target exactly at the release:
 * the plan preflight made from the old state is not handed on. Real
 * repositories, target folders and CLI runs.
 */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deploy } from '../../src/api.js';
import { resolveConfig } from '../../src/config/resolve.js';
import { DiffshipError } from '../../src/errors.js';
import { cli } from '../helpers/cli.js';
import { makeRepo, snapshot } from '../helpers/repo.js';
import { git, tempDir } from '../helpers/git.js';

let root: string;
let repo: ReturnType<typeof makeRepo>;
let v1: string;
let v2: string;
let v3: string;
let linked: string;
beforeAll(() => {
  root = tempDir('diffship-early-preflight-');
  repo = makeRepo();
  const many: Record<string, string> = {};
  for (let i = 0; i < 300; i++) many[`data/d${i % 7}/f${i}.txt`] = `${i}\n`;
  v1 = repo.commit({ ...many, 'app.json': '1\n', 'lib/x.json': 'x\n' });
  v2 = repo.commit({ ...many, 'app.json': '2\n', 'lib/y.json': 'y\n' });
  // What the racing deploy ships: files v2 does not have, and one v2 changes.
  v3 = repo.commit({ ...many, 'app.json': '3\n', 'lib/x.json': 'x3\n', 'extra/z.json': 'z\n' });
  linked = repo.commit({ ...many, 'app.json': '4\n', 'out.txt': { link: '../../etc/passwd' } });
});
afterAll(() => {
  repo.cleanup();
  rmSync(root, { recursive: true, force: true });
});

let n = 0;
/** A fresh target folder holding v1, with a stray, and the config file and object for it. */
async function target(extra: Record<string, unknown> = {}) {
  const dir = path.join(root, `case-${n++}`);
  mkdirSync(dir, { recursive: true });
  const raw = { mode: 'authoritative', targets: [{ name: 't', type: 'local', path: './target' }], ...extra };
  writeFileSync(path.join(dir, 'diffship.yml'), JSON.stringify(raw));
  const config = resolveConfig(raw, { baseDir: dir });
  expect((await deploy({ config, repo: repo.dir, to: v1 })).status).toBe('succeeded');
  writeFileSync(path.join(dir, 'target', 'stray.txt'), 'by hand\n');
  return { dir, tree: path.join(dir, 'target'), config };
}

/** The files of release `ref`, as a target holding it should show them. */
function release(ref: string) {
  git(repo.dir, 'checkout', '-q', '--detach', ref);
  return snapshot(repo.dir, ['.git']);
}

const planDetail = (r: Awaited<ReturnType<typeof deploy>>) =>
  r.targets[0]?.steps.find((s) => s.name === 'plan')?.detail ?? '';

describe('preflight alongside the release checks', () => {
  it('plans the target once, by preflight, and ships the release exactly', async () => {
    const { tree, config } = await target();
    const r = await deploy({ config, repo: repo.dir, to: v2 });
    expect(r.status, JSON.stringify(r.targets.map((t) => t.error))).toBe('succeeded');
    expect(planDetail(r)).toMatch(/planned by preflight$/);
    expect(snapshot(tree, ['.diffship'])).toEqual(release(v2));
  }, 60_000);

  it('fails with the check, not preflight, and leaves the target untouched', async () => {
    const { tree, config } = await target({ symlinks: 'refuse-outside' });
    // A live lock: preflight, which started with the checks, finds the target locked.
    const lock = { deployId: 'other', command: 'deploy', user: 'u', host: hostname(), pid: process.pid };
    const leaseUntil = new Date(Date.now() + 600_000).toISOString();
    writeFileSync(
      path.join(tree, '.diffship', 'lock.json'),
      JSON.stringify({ ...lock, since: new Date().toISOString(), leaseUntil }),
    );
    const before = snapshot(tree, []);
    const events: string[] = [];
    const run = deploy({ config, repo: repo.dir, to: linked, onEvent: (e) => events.push(e.type) });
    const error = await run.then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(DiffshipError);
    expect((error as DiffshipError).code).toBe('E_CONFIG');
    expect((error as Error).message).toMatch(/refused by symlinks: refuse-outside/);
    expect(events).toEqual([]);
    expect(snapshot(tree, [])).toEqual(before);
  }, 60_000);

  it('fails with the check through the CLI too: exit 2, one line, nothing of preflight', async () => {
    const { dir, tree } = await target({ symlinks: 'refuse-outside' });
    const before = snapshot(tree, []);
    const r = cli(dir, ['deploy', '--to', linked, '--repo', repo.dir, '--no-progress']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^diffship: .*refuse-outside/);
    expect(r.stdout + r.stderr).not.toMatch(/preflight/);
    expect(snapshot(tree, [])).toEqual(before);
    expect(readdirSync(path.join(tree, '.diffship')).sort()).not.toContain('lock');
  }, 60_000);

  it('ships the release exactly when another deploy ran between the early walk and the lock', async () => {
    const { dir, tree, config } = await target();
    let raced = false;
    const r = await deploy({
      config,
      repo: repo.dir,
      to: v2,
      onEvent: (e) => {
        // The rollout started: preflight has read the target (or is reading it); nothing holds the lock.
        if (e.type !== 'start' || raced) return;
        raced = true;
        const other = cli(dir, [
          'deploy',
          '--to',
          v3,
          '--repo',
          repo.dir,
          '--skip-preflight',
          '--no-progress',
        ]);
        expect(other.code, other.stderr).toBe(0);
        writeFileSync(path.join(tree, 'late-stray.txt'), 'after the walk\n');
      },
    });
    expect(raced).toBe(true);
    expect(r.status, JSON.stringify(r.targets.map((t) => t.error))).toBe('succeeded');
    // Planned from the state the racing deploy left (preflight's plan from v1, if it made one, not taken).
    expect(r.targets[0]?.from).toBe(v3);
    expect(planDetail(r)).toMatch(/delete/);
    expect(snapshot(tree, ['.diffship'])).toEqual(release(v2));
  }, 60_000);
});
