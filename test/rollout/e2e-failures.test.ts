/**
 * End to end: how failures stop a rollout and what is undone. `max-failures`
 * as a percentage of the selected targets (past it, no later wave starts), and
 * `rollback: all` (a failure in a later wave undoes the earlier waves too,
 * newest first). Plain target folders; hooks and checks are shell commands.
 */
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Fleet, logLine, stepNames, targetOf, workflow } from './e2e-fixture.js';

let fleet: Fleet;
beforeEach(() => {
  fleet = new Fleet();
});
afterEach(async () => {
  await fleet.cleanup();
});

const names = (n: number) => Array.from({ length: n }, (_, i) => `t${i + 1}`);

describe('max-failures as a percentage', () => {
  /** Ten targets, waves of 5; `before` fails where the config folder holds `fail-<name>`. */
  async function tenTargets(failing: string[]) {
    const sha = fleet.release('v1', { 'orders.json': workflow('Orders') });
    fleet.writeConfig({
      source: 'workflows',
      waves: [5],
      'max-parallel': 5,
      'max-failures': '20%',
      defaults: { before: { run: `${logLine('before')} && test ! -e fail-{name}` } },
      targets: names(10).map((n) => ({ name: n, path: `targets/${n}` })),
    });
    for (const n of failing) writeFileSync(path.join(fleet.root, `fail-${n}`), '');
    return { sha, run: await fleet.deploy('v1') };
  }

  it('3 failures of 10 (30% > 20%) in wave 1: wave 2 never starts', async () => {
    const { sha, run } = await tenTargets(['t1', 't3', 't5']);
    expect(run.code, run.stderr).toBe(1);
    expect(run.report.status).toBe('failed');
    expect(run.report.waves).toEqual([names(10).slice(0, 5), names(10).slice(5)]);
    expect(run.report.targets.map((t) => [t.name, t.status])).toEqual([
      ['t1', 'failed'],
      ['t2', 'deployed'],
      ['t3', 'failed'],
      ['t4', 'deployed'],
      ['t5', 'failed'],
      ...names(10)
        .slice(5)
        .map((n) => [n, 'skipped']),
    ]);
    for (const n of ['t1', 't3', 't5']) {
      expect(targetOf(run.report, n).error).toMatch(/^before: run exited with code 1/);
      expect(stepNames(run.report, n)).toEqual(['lock', 'plan', 'before', 'unlock']);
      // Nothing was written: a failed `before` stops the target before apply.
      expect(fleet.tree(n, true)).toEqual({});
    }
    for (const n of ['t2', 't4']) expect(fleet.state(n)?.release).toBe(sha);
    for (const n of names(10).slice(5)) {
      expect(targetOf(run.report, n)).toMatchObject({
        steps: [],
        error: 'not started: max-failures reached',
      });
      expect(existsSync(fleet.dir(n))).toBe(false); // never even created
    }
    expect(fleet.hookLog().sort()).toEqual(names(5).map((n) => `before ${n}`));
    expect(run.stderr).toContain('halt: 3 target(s) failed, past max-failures');
  });

  it('2 failures of 10 (20%, not past it): wave 2 runs, the rollout still fails', async () => {
    const { sha, run } = await tenTargets(['t2', 't4']);
    expect(run.code, run.stderr).toBe(1);
    expect(run.report.status).toBe('failed');
    const statuses = Object.fromEntries(run.report.targets.map((t) => [t.name, t.status]));
    expect(statuses).toEqual({
      ...Object.fromEntries(names(10).map((n) => [n, 'deployed'])),
      t2: 'failed',
      t4: 'failed',
    });
    for (const n of names(10).slice(5)) expect(fleet.state(n)?.release).toBe(sha);
    expect(run.stderr).not.toContain('halt:');
  });
});

describe('rollback: all', () => {
  it('a failure in wave 2 rolls back every target this rollout changed, newest first', async () => {
    fleet.release('v1', { 'orders.json': workflow('Orders'), 'version.txt': 'v1\n' });
    const v2 = fleet.release('v2', {
      'orders.json': workflow('Orders', ['receive', 'log', 'send']),
      'billing.json': workflow('Billing'),
      'version.txt': 'v2\n',
    });
    const log = path.join(fleet.root, 'hooks.log');
    fleet.writeConfig({
      source: 'workflows',
      waves: [2],
      'max-parallel': 1,
      rollback: 'all',
      defaults: {
        // Runs in the target folder: logs which version the host is asked to (re)load.
        activate: { remote: `echo "activate $DIFFSHIP_TARGET $(cat version.txt)" >> "${log}"` },
        // Fails on one release only: the host is healthy again once rolled back (which is verified).
        verify: [
          { command: { run: 'test ! -e fail-{name}-{release}', interval: '100ms', timeout: '300ms' } },
        ],
        after: { run: logLine('after') },
      },
      targets: names(4).map((n) => ({ name: n, path: `targets/${n}` })),
    });
    const r1 = await fleet.deploy('v1');
    expect(r1.code, r1.stderr).toBe(0);
    const trees = Object.fromEntries(names(4).map((n) => [n, fleet.tree(n, true)]));
    const states = Object.fromEntries(names(4).map((n) => [n, fleet.state(n)]));
    const seen = fleet.hookLog().length;

    writeFileSync(path.join(fleet.root, `fail-t4-${v2}`), '');
    const run = await fleet.deploy('v2');
    expect(run.code, run.stderr).toBe(1);
    expect(run.report.status).toBe('failed');
    expect(run.report.waves).toEqual([
      ['t1', 't2'],
      ['t3', 't4'],
    ]);
    expect(run.report.targets.map((t) => t.status)).toEqual([
      'rolled-back',
      'rolled-back',
      'rolled-back',
      'rolled-back',
    ]);
    // The failing target goes back at once (before its `after`), then t3, t2, t1: newest first.
    expect(fleet.hookLog(seen)).toEqual([
      'activate t1 v2',
      'after t1',
      'activate t2 v2',
      'after t2',
      'activate t3 v2',
      'after t3',
      'activate t4 v2',
      'activate t4 v1',
      'after t4',
      // Each undo is drained like the deploy was: (before), restore + activate, after.
      'activate t3 v1',
      'after t3',
      'activate t2 v1',
      'after t2',
      'activate t1 v1',
      'after t1',
    ]);
    const rollbackAt = (n: string) =>
      Date.parse(targetOf(run.report, n).steps.find((s) => s.name === 'rollback')!.startedAt!);
    expect(rollbackAt('t4')).toBeLessThanOrEqual(rollbackAt('t3'));
    expect(rollbackAt('t3')).toBeLessThanOrEqual(rollbackAt('t2'));
    expect(rollbackAt('t2')).toBeLessThanOrEqual(rollbackAt('t1'));
    for (const n of names(3)) {
      expect(targetOf(run.report, n).to).toBe(v2);
      expect(stepNames(run.report, n).slice(-5)).toEqual([
        'rollback',
        'activate',
        'verify',
        'after',
        'unlock',
      ]);
    }
    for (const n of names(4)) {
      expect(fleet.tree(n, true)).toEqual(trees[n]);
      expect(fleet.state(n)).toEqual(states[n]);
      expect(fleet.leftovers(n)).toEqual([]);
    }
  });
});
