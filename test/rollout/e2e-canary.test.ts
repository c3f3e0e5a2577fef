/**
 * End to end: a broken release (a workflow with a step type the host does not
 * know, so its /health answers 503) reaches only the canary. The canary fails
 * its http check, is rolled back byte for byte and returned to service; the
 * second wave never starts; the exit code is 1.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { CliRun } from './e2e-fixture.js';
import { Fleet, ctl, loaded, logLine, stepNames, targetOf, workflow } from './e2e-fixture.js';
import type { SnapEntry } from '../helpers/repo.js';
import { ROLLED_BACK_AND_VERIFIED_STEPS } from '../helpers/steps.js';

let fleet: Fleet;
let v1: string;
let v2: string;
const trees: Record<string, Record<string, SnapEntry>> = {};
const states: Record<string, unknown> = {};
let seen = 0;
let run: CliRun;

beforeAll(async () => {
  fleet = new Fleet();
  for (const n of ['a', 'b', 'c']) await fleet.startHost(n, 'automatic');
  v1 = fleet.release('v1', { 'orders.json': workflow('Orders'), 'lab.json': workflow('Lab') });
  v2 = fleet.release('v2', {
    'orders.json': workflow('Orders', ['receive', 'explode', 'send']),
    'lab.json': workflow('Lab'),
    'billing.json': workflow('Billing'),
  });
  fleet.writeConfig({
    source: 'workflows',
    waves: [1, '100%'],
    defaults: {
      before: { run: `${logLine('before')} && ${ctl('drain --port {vars.port}')}` },
      activate: { run: logLine('activate'), settle: '100ms' },
      verify: [
        {
          http: {
            url: 'http://127.0.0.1:{vars.port}/health',
            status: 200,
            contains: 'release: {release}',
            interval: '100ms',
            timeout: '1500ms',
          },
        },
      ],
      after: { run: `${logLine('after')} && ${ctl('enable --port {vars.port}')}` },
    },
    targets: ['a', 'b', 'c'].map((n) => ({
      name: n,
      path: `targets/${n}`,
      vars: { port: fleet.hosts.get(n)!.port },
    })),
  });
  const first = await fleet.deploy('v1');
  if (first.code !== 0) throw new Error(`v1 deploy failed:\n${first.stderr}`);
  for (const n of ['a', 'b', 'c']) {
    trees[n] = fleet.tree(n);
    states[n] = fleet.state(n);
  }
  seen = fleet.hookLog().length;
  run = await fleet.deploy('v2');
});
afterAll(async () => {
  await fleet.cleanup();
});

it('exits 1 with a failed report: the canary rolled back, the second wave skipped', () => {
  expect(run.code, run.stderr).toBe(1);
  expect(run.report).toMatchObject({ command: 'deploy', status: 'failed', to: v2 });
  expect(run.report.waves).toEqual([['a'], ['b', 'c']]);
  const a = targetOf(run.report, 'a');
  expect(a).toMatchObject({ status: 'rolled-back', from: v1, to: v2 });
  expect(a.changes).toMatchObject({ added: ['billing.json'], updated: ['orders.json'] });
  expect(a.error).toMatch(/^verify: FAILED http GET http:\/\/127\.0\.0\.1:\d+\/health/);
  expect(stepNames(run.report, 'a')).toEqual(ROLLED_BACK_AND_VERIFIED_STEPS);
  const verify = a.steps.find((s) => s.name === 'verify')!;
  expect(verify.status).toBe('failed');
  expect(verify.detail).toContain('503');
  expect(verify.detail).toContain('step 2 has unknown type \\"explode\\"');
  expect(verify.durationMs).toBeGreaterThanOrEqual(1400);
  expect(a.steps.find((s) => s.name === 'rollback')).toMatchObject({
    status: 'ok',
    detail: `restored release ${v1.slice(0, 12)}`,
  });
  for (const n of ['b', 'c']) {
    expect(targetOf(run.report, n)).toMatchObject({
      status: 'skipped',
      wave: 1,
      steps: [],
      bytes: 0,
      error: 'not started: max-failures reached',
    });
  }
  expect(run.stderr).toContain('halt: 1 target(s) failed, past max-failures');
});

it('restores the canary byte for byte, with its recorded release', () => {
  expect(fleet.tree('a', true)).toEqual(
    Object.fromEntries(Object.entries(trees.a!).filter(([p]) => !p.startsWith('.diffship'))),
  );
  expect(fleet.state('a')).toEqual(states.a);
  expect(fleet.leftovers('a')).toEqual([]);
});

it('never touches the second wave: not even its state folder', () => {
  for (const n of ['b', 'c']) expect(fleet.tree(n)).toEqual(trees[n]);
});

it("ran the canary's after hook, after the rollback's re-activation; no hook for the others", async () => {
  expect(fleet.hookLog(seen)).toEqual(['before a', 'activate a', 'activate a', 'after a']);
  const a = fleet.hosts.get('a')!;
  // The host is back on v1: healthy, in service, the broken workflow unloaded.
  expect(await loaded(a)).toEqual({
    'lab.json': fleet.blob('v1', 'lab.json'),
    'orders.json': fleet.blob('v1', 'orders.json'),
  });
  const health = await a.request('/health');
  expect(health.status).toBe(200);
  expect(health.body).toContain(`release: ${v1}`);
  expect((await a.request('/in-service')).status).toBe(200);
  expect(a.output()).toMatch(/INVALID: step 2 has unknown type "explode"[\s\S]*unloaded billing\.json/);
  for (const n of ['b', 'c']) {
    const h = fleet.hosts.get(n)!;
    expect((await h.request('/health')).body).toContain(`release: ${v1}`);
    expect(h.output()).not.toContain('explode');
  }
});
