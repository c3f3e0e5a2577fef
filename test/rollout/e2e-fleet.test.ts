/**
 * End to end, a fleet of local targets through the real CLI: the per-target
 * work that can be shared is shared (one `git diff-tree` for every target on
 * the same release, preflight included), and `max-parallel` really bounds how
 * many targets are in flight while letting that many run at once.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Fleet, targetOf, workflow } from './e2e-fixture.js';

let fleet: Fleet;
beforeEach(() => {
  fleet = new Fleet();
});
afterEach(async () => {
  await fleet.cleanup();
});

const NAMES = ['a', 'b', 'c', 'd', 'e', 'f', 'g'];

/** A `git` first on PATH that appends its arguments to git.log, then runs the real git. */
function gitRecorder(): { env: NodeJS.ProcessEnv; calls: () => string[] } {
  const realGit = execFileSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).trim();
  const bin = path.join(fleet.root, 'bin');
  const log = path.join(fleet.root, 'git.log');
  mkdirSync(bin);
  writeFileSync(path.join(bin, 'git'), `#!/bin/sh\necho "$*" >> "${log}"\nexec "${realGit}" "$@"\n`);
  chmodSync(path.join(bin, 'git'), 0o755);
  writeFileSync(log, '');
  return {
    env: { PATH: `${bin}${path.delimiter}${process.env.PATH}` },
    calls: () => readFileSync(log, 'utf8').split('\n').filter(Boolean),
  };
}

describe('a fleet of local targets', () => {
  it('diffs each distinct pair of releases once, however many targets share it', async () => {
    fleet.release('v1', { 'orders.json': workflow('Orders'), 'keep.json': workflow('Keep') });
    const v2 = fleet.release('v2', {
      'orders.json': workflow('Orders', ['receive']),
      'keep.json': workflow('Keep'),
    });
    fleet.writeConfig({
      source: 'workflows',
      waves: ['100%'],
      'max-parallel': 3,
      targets: NAMES.map((n) => ({ name: n, path: `targets/${n}` })),
    });
    // Two targets hold v1 already; the rest are empty.
    expect((await fleet.deploy('v1', ['--targets', 'a,b'])).code).toBe(0);

    const git = gitRecorder();
    const r = await fleet.deploy('v2', [], undefined, git.env);
    expect(r.code, r.stderr).toBe(0);
    for (const n of NAMES) {
      expect(targetOf(r.report, n).status).toBe('deployed');
      expect(fleet.tree(n, true)).toEqual(fleet.tree('a', true));
    }
    expect(fleet.state('g')?.release).toBe(v2);
    // git diff-tree reads the two trees on stdin (--stdin), so the calls are told apart by
    // count: a and b (preflight and deploy: four plans) share one diff v1 → v2 (the only one
    // with renames to find); the five empty targets (ten plans) share the release's listing
    // (nothing → v2), made with ls-tree (git holds no pair per file). The selection and link
    // checks list the release once more, streamed and counted, without keeping a change object
    // per file (diff/release-summary.ts). Without the sharing: 14 plans' diffs.
    const diffs = git.calls().filter((c) => c.includes('diff-tree'));
    expect(diffs.filter((c) => c.includes('--find-renames'))).toHaveLength(1);
    expect(diffs).toHaveLength(1);
    expect(git.calls().filter((c) => c.includes('ls-tree') && c.includes(' -r '))).toHaveLength(2);
  });

  it('runs up to max-parallel targets at once, never more', async () => {
    fleet.release('v1', { 'orders.json': workflow('Orders') });
    const log = path.join(fleet.root, 'flight.log');
    writeFileSync(log, '');
    const P = 3;
    fleet.writeConfig({
      source: 'workflows',
      waves: ['100%'],
      'max-parallel': P,
      defaults: {
        before: { run: `echo "start {name}" >> "${log}"` },
        // Every target waits until P targets have started: this can only finish when P run at once.
        activate: {
          run: `until [ "$(grep -c start "${log}")" -ge ${P} ]; do sleep 0.05; done`,
          timeout: '20s',
        },
        after: { run: `echo "end {name}" >> "${log}"` },
      },
      targets: NAMES.map((n) => ({ name: n, path: `targets/${n}` })),
    });
    const r = await fleet.deploy('v1');
    expect(r.code, r.stderr).toBe(0);
    const events = readFileSync(log, 'utf8').split('\n').filter(Boolean);
    expect(events).toHaveLength(NAMES.length * 2);
    let inFlight = 0;
    let most = 0;
    for (const e of events) {
      inFlight += e.startsWith('start') ? 1 : -1;
      most = Math.max(most, inFlight);
    }
    expect(most).toBe(P);
  });

  it('runs hooks through the spawn helper (the system Python, else perl), and through Node where there is neither', async () => {
    fleet.release('v1', { 'orders.json': workflow('Orders') });
    fleet.release('v2', { 'orders.json': workflow('Orders', ['receive']) });
    const log = path.join(fleet.root, 'parents.log');
    // The hook names the program that forked its shell.
    const hook = { run: `echo "{name} $(cat /proc/$PPID/comm)" >> "${log}"` };
    fleet.writeConfig({
      source: 'workflows',
      waves: ['100%'],
      defaults: { before: hook, after: hook },
      targets: NAMES.slice(0, 3).map((n) => ({ name: n, path: `targets/${n}` })),
    });
    const parents = () => readFileSync(log, 'utf8').split('\n').filter(Boolean);
    writeFileSync(log, '');
    const withPerl = await fleet.deploy('v1');
    expect(withPerl.code, withPerl.stderr).toBe(0);
    expect(parents()).toHaveLength(6);
    // The system's Python (posix_spawn) where there is one, found by its path, not on PATH.
    const python = existsSync('/usr/bin/python3');
    for (const line of parents()) expect(line).toMatch(python ? / python3$/ : / perl$/);

    // A PATH with git (and cat for the hook) but no perl.
    const bin = path.join(fleet.root, 'no-perl-bin');
    mkdirSync(bin);
    for (const tool of ['git', 'cat']) {
      const real = execFileSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).trim();
      symlinkSync(real, path.join(bin, tool));
    }
    writeFileSync(log, '');
    const without = await fleet.deploy('v2', [], undefined, { PATH: bin });
    expect(without.code, without.stderr).toBe(0);
    for (const n of NAMES.slice(0, 3)) expect(targetOf(without.report, n).status).toBe('deployed');
    expect(parents()).toHaveLength(6);
    for (const line of parents()) expect(line).toMatch(python ? / python3$/ : / (node|MainThread)$/);
  });
});
