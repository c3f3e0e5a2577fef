/**
 * A local target's whole walk started as an authoritative deploy starts, before
 * the release is resolved (rollout/early-walk.ts): the plan keeps it (one `find`
 * a deploy, in find's order and sorted), a deploy that never reads it leaves no
 * `find` behind (a locked target, a release that cannot be read), and a rollout
 * that needs no walk starts none. Real repositories, target folders and CLI
 * runs; `find` is the real one behind a wrapper on PATH that logs its pid.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from '../helpers/cli.js';
import { makeRepo, snapshot } from '../helpers/repo.js';
import { git, tempDir } from '../helpers/git.js';

const FIND = ['/usr/bin/find', '/bin/find'].find((f) => existsSync(f)) ?? 'find';

let root: string;
let bin: string;
let repo: ReturnType<typeof makeRepo>;
let v1: string;
let v2: string;
beforeAll(() => {
  root = tempDir('diffship-early-walk-');
  bin = path.join(root, 'bin');
  mkdirSync(bin);
  // Logs its pid (the find's, after exec), waits FIND_DELAY seconds if set, then is the real find.
  writeFileSync(
    path.join(bin, 'find'),
    `#!/bin/sh\necho $$ >> "$FIND_LOG"\n[ -n "$FIND_DELAY" ] && sleep "$FIND_DELAY"\nexec ${FIND} "$@"\n`,
  );
  chmodSync(path.join(bin, 'find'), 0o755);
  repo = makeRepo();
  const many: Record<string, string> = {};
  for (let i = 0; i < 400; i++) many[`data/d${i % 9}/f${i}.txt`] = `${i}\n`;
  v1 = repo.commit({ ...many, 'app.json': '1\n' });
  v2 = repo.commit({ ...many, 'app.json': '2\n', 'lib/y.json': 'y\n' });
});
afterAll(() => {
  repo.cleanup();
  rmSync(root, { recursive: true, force: true });
});

let n = 0;
/** A folder with diffship.yml (`mode`) and a target holding v1 plus a stray file. */
function workspace(mode: 'authoritative' | 'additive') {
  const dir = path.join(root, `case-${n++}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'diffship.yml'), `mode: ${mode}\ntargets:\n  - { name: t, path: ./target }\n`);
  const log = path.join(dir, 'find.log');
  const run = (to: string, env: NodeJS.ProcessEnv = {}) =>
    cli(dir, ['deploy', '--to', to, '--repo', repo.dir, '--no-progress'], {
      PATH: `${bin}:${process.env.PATH}`,
      FIND_LOG: log,
      ...env,
    });
  expect(run(v1).code).toBe(0);
  writeFileSync(path.join(dir, 'target', 'stray.txt'), 'by hand\n');
  rmSync(log, { force: true });
  const finds = () => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n').map(Number) : []);
  return { dir, tree: path.join(dir, 'target'), run, finds };
}

function release(ref: string) {
  git(repo.dir, 'checkout', '-q', '--detach', ref);
  return snapshot(repo.dir, ['.git']);
}

/** Whether process `pid` still runs (a zombie counts as gone). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

async function gone(pids: number[]): Promise<boolean> {
  for (let i = 0; i < 20 && pids.some(alive); i++) await new Promise((r) => setTimeout(r, 100));
  return !pids.some(alive);
}

describe('the early walk of a local authoritative target', () => {
  it.each([
    ['find order', {}],
    ['sorted', { DIFFSHIP_LOCAL_WALK: 'sorted' }],
  ] as const)(
    'is the one walk the plan reads (%s), and the release lands exactly',
    (_kind, env) => {
      const w = workspace('authoritative');
      const r = w.run(v2, env);
      expect(r.code, r.stderr).toBe(0);
      expect(w.finds()).toHaveLength(1);
      expect(snapshot(w.tree, ['.diffship'])).toEqual(release(v2));
    },
    60_000,
  );

  it('is not started where the plan walks nothing (additive mode)', () => {
    const w = workspace('additive');
    expect(w.run(v2).code).toBe(0);
    expect(w.finds()).toEqual([]);
  }, 60_000);

  it('leaves no find behind when the target is locked by another run', async () => {
    const w = workspace('authoritative');
    // A live lock: this test's own process holds it.
    const lock = { deployId: 'other', command: 'deploy', user: 'u', host: hostname(), pid: process.pid };
    const since = new Date().toISOString();
    const leaseUntil = new Date(Date.now() + 600_000).toISOString();
    writeFileSync(
      path.join(w.tree, '.diffship', 'lock.json'),
      JSON.stringify({ ...lock, since, leaseUntil }),
    );
    const before = snapshot(w.tree, []);
    const started = Date.now();
    const r = w.run(v2, { FIND_DELAY: '8' });
    expect(Date.now() - started).toBeLessThan(6000);
    expect(r.code).not.toBe(0);
    expect(r.stdout + r.stderr).toMatch(/lock/i);
    expect(w.finds()).toHaveLength(1);
    expect(await gone(w.finds())).toBe(true);
    expect(snapshot(w.tree, [])).toEqual(before);
  }, 60_000);

  it.each([
    ['not JSON', (f: string) => writeFileSync(f, '{"version": 3, "manifestFile": {"size": 1e300')],
    ['a link to /etc/passwd', (f: string) => (rmSync(f), symlinkSync('/etc/passwd', f))],
    [
      'naming a huge manifest',
      (f: string) => {
        const state = JSON.parse(readFileSync(f, 'utf8')) as { manifestFile: { size: number } };
        state.manifestFile.size = Number.MAX_SAFE_INTEGER;
        writeFileSync(f, JSON.stringify(state));
      },
    ],
  ])(
    'reads a hostile state.json (%s) for a guess only: the deploy refuses it as before',
    async (_, plant) => {
      const w = workspace('authoritative');
      plant(path.join(w.tree, '.diffship', 'state.json'));
      const before = snapshot(w.tree, []);
      const started = Date.now();
      const r = w.run(v2, { FIND_DELAY: '8' });
      expect(Date.now() - started).toBeLessThan(6000);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/state\.json|manifest/);
      expect(r.stderr).not.toMatch(/root:/); // nothing of the linked file is shown
      expect(await gone(w.finds())).toBe(true);
      expect(snapshot(w.tree, [])).toEqual(before);
    },
    60_000,
  );

  it('leaves no find behind when the release cannot be read', async () => {
    const w = workspace('authoritative');
    const started = Date.now();
    const r = w.run('no-such-ref', { FIND_DELAY: '8' });
    // Stopped, not waited for: a find left running keeps the CLI alive until it ends (8 s here).
    expect(Date.now() - started).toBeLessThan(6000);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no-such-ref/);
    expect(w.finds()).toHaveLength(1);
    expect(await gone(w.finds())).toBe(true);
  }, 60_000);
});
