/**
 * End to end with the real CLI: what runs around the waves. Rollout and wave
 * hooks (with the wave, its targets and the running result in their
 * environment; after-rollout always runs), a bake that re-probes the wave's
 * checks and fails the wave when a real host turns unhealthy during it, and
 * min-healthy against a fleet that is already partly unhealthy.
 */
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/host.js';
import { Fleet, workflow } from './e2e-fixture.js';

let fleet: Fleet;
afterEach(async () => {
  await fleet.cleanup();
});

const LOG =
  'echo "$DIFFSHIP_HOOK wave=$DIFFSHIP_WAVE/$DIFFSHIP_WAVES [$DIFFSHIP_WAVE_TARGETS] $DIFFSHIP_RESULT deployed=$DIFFSHIP_DEPLOYED failed=$DIFFSHIP_FAILED" >> hooks.log';

describe('rollout and wave hooks', () => {
  it('run around each wave with its number, targets and the running result; after-rollout always runs', async () => {
    fleet = new Fleet();
    fleet.release('v1', { 'a.json': workflow('a') });
    const targets = ['t1', 't2', 't3'].map((n) => ({ name: n, path: `targets/${n}` }));
    const base = {
      source: 'workflows',
      waves: [1, 2],
      'before-rollout': { run: LOG },
      'before-wave': { run: LOG },
      'after-wave': { run: LOG },
      'after-rollout': { run: LOG },
      bake: { duration: '600ms', interval: '200ms' },
      defaults: { verify: [{ command: { run: 'test -f "$DIFFSHIP_PATH/a.json"', timeout: '5s' } }] },
      targets,
    };
    fleet.writeConfig(base);
    const run = await fleet.deploy('v1');
    expect(run.code, run.stderr).toBe(0);
    expect(fleet.hookLog()).toEqual([
      'before-rollout wave=/2 [] running deployed=0 failed=0',
      'before-wave wave=1/2 [t1] running deployed=0 failed=0',
      'after-wave wave=1/2 [t1] succeeded deployed=1 failed=0',
      'before-wave wave=2/2 [t2 t3] running deployed=1 failed=0',
      'after-wave wave=2/2 [t2 t3] succeeded deployed=3 failed=0',
      'after-rollout wave=/2 [] succeeded deployed=3 failed=0',
    ]);
    expect(run.report.rollout!.map((s) => `${s.name}${s.wave ?? ''} ${s.status}`)).toEqual([
      'before-rollout ok',
      'before-wave1 ok',
      'bake1 ok',
      'after-wave1 ok',
      'before-wave2 ok',
      'bake2 ok',
      'after-wave2 ok',
      'after-rollout ok',
    ]);
    // 600 ms every 200 ms: up to 3 probes, fewer when a probe itself takes time.
    expect(run.report.rollout!.find((s) => s.name === 'bake')!.detail).toMatch(
      /^[23] probe\(s\) of 1 target\(s\) passed$/,
    );

    // A failing before-wave stops the rollout before that wave; after-rollout still runs, told "failed".
    fleet.release('v2', { 'a.json': workflow('a', ['receive', 'log']) });
    fleet.writeConfig({
      ...base,
      bake: undefined,
      'before-wave': { run: `${LOG} && test "$DIFFSHIP_WAVE" != 2` },
    });
    const run2 = await fleet.deploy('v2');
    expect(run2.code).toBe(1);
    expect(run2.report.status).toBe('failed');
    expect(fleet.hookLog(6)).toEqual([
      'before-rollout wave=/2 [] running deployed=0 failed=0',
      'before-wave wave=1/2 [t1] running deployed=0 failed=0',
      'after-wave wave=1/2 [t1] succeeded deployed=1 failed=0',
      'before-wave wave=2/2 [t2 t3] running deployed=1 failed=0',
      'after-rollout wave=/2 [] failed deployed=1 failed=0',
    ]);
    expect(run2.report.targets.map((t) => t.status)).toEqual(['deployed', 'skipped', 'skipped']);
    expect(run2.report.targets[1]!.error).toBe('not started: before-wave of wave 2 failed');
  }, 60_000);
});

/** Three real example hosts (automatic import); their /health demands the release. */
async function hostsFleet() {
  fleet = new Fleet();
  fleet.release('v1', { 'orders.json': workflow('orders') });
  for (const n of ['a', 'b', 'c']) await fleet.startHost(n);
  return (extra: Record<string, unknown>) =>
    fleet.writeConfig({
      source: 'workflows',
      'on-drift': 'overwrite',
      waves: [1],
      defaults: {
        // Tells the test a target passed verify (and is baking).
        after: { run: 'touch {name}.verified' },
        verify: [
          {
            http: {
              url: 'http://127.0.0.1:{vars.port}/health',
              status: 200,
              contains: 'release: {release}',
              interval: '100ms',
              timeout: '10s',
            },
          },
        ],
      },
      targets: ['a', 'b', 'c'].map((n) => ({
        name: n,
        path: `targets/${n}`,
        vars: { port: fleet.hosts.get(n)!.port },
      })),
      ...extra,
    });
}

/** A workflow with an unknown step type: the host loads it as invalid and /health answers 503. */
const BROKEN = workflow('orders', ['receive', 'explode']);

describe('bake', () => {
  it('fails the wave when a host turns unhealthy after its first green check; rollback and halt follow', async () => {
    const write = await hostsFleet();
    write({ bake: { duration: '4s', interval: '250ms' }, rollback: 'target' });
    const started = fleet.start('deploy', ['--to', 'v1']);
    // Host a passed verify and is baking: break it by hand.
    await waitFor(() => existsSync(path.join(fleet.root, 'a.verified')), 20_000, 'a verified');
    await new Promise((r) => setTimeout(r, 300));
    writeFileSync(path.join(fleet.dir('a'), 'orders.json'), BROKEN);
    const run = await started.done;
    expect(run.code).toBe(1);
    const bake = run.report.rollout!.find((s) => s.name === 'bake')!;
    expect(bake).toMatchObject({ wave: 1, status: 'failed' });
    expect(bake.detail).toMatch(
      /^1 failed probe\(s\), limit 0\nprobe \d+ a: FAILED http GET http:\/\/127\.0\.0\.1:\d+\/health .*→ 503/,
    );
    expect(run.report.targets.map((t) => [t.name, t.status])).toEqual([
      ['a', 'rolled-back'],
      ['b', 'skipped'],
      ['c', 'skipped'],
    ]);
    expect(run.report.targets[0]!.error).toMatch(/^bake: probe \d+ a:/);
    // Rolled back: a held nothing before, so its state is gone; b and c were never touched.
    expect(fleet.state('a')).toBeNull();
    expect(fleet.state('b')).toBeNull();
  }, 60_000);

  it('tolerates failed probes up to failure-limit', async () => {
    const write = await hostsFleet();
    write({ bake: { duration: '1s', interval: '250ms', 'failure-limit': 100 }, waves: ['100%'] });
    const started = fleet.start('deploy', ['--to', 'v1']);
    await waitFor(() => existsSync(path.join(fleet.root, 'b.verified')), 20_000, 'b verified');
    writeFileSync(path.join(fleet.dir('b'), 'orders.json'), BROKEN);
    const run = await started.done;
    expect(run.code, run.stderr).toBe(0);
    expect(run.report.rollout![0]!.detail).toMatch(
      /^\d probe\(s\) of 3 target\(s\) passed; tolerated:\nprobe \d b: /,
    );
  }, 60_000);
});

describe('min-healthy', () => {
  it('refuses to start when too few targets are healthy now, deploys unhealthy ones first, keeps waves above it', async () => {
    const write = await hostsFleet();
    write({});
    expect((await fleet.deploy('v1')).code).toBe(0);
    fleet.release('v2', { 'orders.json': workflow('orders', ['receive', 'log', 'send']) });
    // c runs a broken file (by hand): unhealthy against what it runs now.
    writeFileSync(path.join(fleet.dir('c'), 'orders.json'), BROKEN);
    await waitFor(
      async () => (await fleet.hosts.get('c')!.request('/health')).status === 503,
      5000,
      'c unhealthy',
    );

    write({ 'min-healthy': 3 });
    const refused = await fleet.deploy('v2');
    expect(refused.code).toBe(1);
    expect(refused.report.rollout).toEqual([
      expect.objectContaining({
        name: 'min-healthy',
        status: 'failed',
        detail: expect.stringMatching(/^2 of 3 healthy, min-healthy 3\n/),
      }),
    ]);
    expect(refused.report.targets.every((t) => t.status === 'skipped' && t.steps.length === 0)).toBe(true);
    const v1 = fleet.state('a')!.release;
    for (const n of ['a', 'b', 'c']) expect(fleet.state(n)?.release).toBe(v1);

    // A wave of two would take a healthy target out with only two healthy: below 2.
    write({ 'min-healthy': 2, waves: [2] });
    const tooBig = await fleet.deploy('v2');
    expect(tooBig.code).toBe(1);
    expect(tooBig.report.targets[0]!.error).toMatch(
      /not started: wave 1 would leave 1 of 3 target\(s\) healthy while it deploys, below min-healthy 2/,
    );

    write({ 'min-healthy': '66%' });
    const run = await fleet.deploy('v2');
    expect(run.code, run.stderr).toBe(0);
    expect(run.report.waves).toEqual([['c'], ['a'], ['b']]);
    expect(run.report.rollout![0]!.detail).toMatch(/^2 of 3 healthy, min-healthy 2\n/);
    for (const n of ['a', 'b', 'c']) expect((await fleet.hosts.get(n)!.request('/health')).status).toBe(200);
  }, 90_000);
});
