/**
 * End to end: the real CLI rolls releases out to three real example hosts,
 * in `automatic` import mode (the host picks files up as they arrive) and in
 * `on-restart` mode (an `activate` hook restarts it). The http check demands
 * `{release}`, so it passes only once each host runs the new release.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Fleet, ctl, loaded, logLine, stepNames, targetOf, workflow } from './e2e-fixture.js';
import { DEPLOYED_STEPS } from '../helpers/steps.js';

let fleet: Fleet;
beforeEach(() => {
  fleet = new Fleet();
});
afterEach(async () => {
  await fleet.cleanup();
});

const NAMES = ['a', 'b', 'c'];

function config(activate: Record<string, unknown>) {
  return {
    source: 'workflows',
    waves: [1, '100%'],
    'max-parallel': 2,
    defaults: {
      before: { run: `${logLine('before')} && ${ctl('drain --port {vars.port}')}`, timeout: '10s' },
      activate,
      verify: [
        {
          http: {
            url: 'http://127.0.0.1:{vars.port}/health',
            status: 200,
            contains: 'release: {release}',
            interval: '100ms',
            timeout: '10s',
            'success-threshold': 2,
          },
        },
      ],
      after: { run: `${logLine('after')} && ${ctl('enable --port {vars.port}')}`, timeout: '10s' },
    },
    targets: NAMES.map((n) => ({ name: n, path: `targets/${n}`, vars: { port: fleet.hosts.get(n)!.port } })),
  };
}

/** Every host runs exactly `files` of release `tag`, is healthy and back in service. */
async function expectRunning(tag: string, sha: string, files: string[]) {
  for (const n of NAMES) {
    const h = fleet.hosts.get(n)!;
    expect(await loaded(h)).toEqual(Object.fromEntries(files.map((f) => [f, fleet.blob(tag, f)])));
    const health = await h.request('/health');
    expect(health.status).toBe(200);
    expect(health.body).toContain(`release: ${sha}`);
    expect((await h.request('/in-service')).status).toBe(200);
    expect(fleet.state(n)?.release).toBe(sha);
    expect(fleet.leftovers(n)).toEqual([]);
  }
}

/** The canary's before/after come first; the second wave's targets only after it. */
function expectCanaryFirst(lines: string[]) {
  expect(lines.slice(0, 2)).toEqual(['before a', 'after a']);
  expect(lines.slice(2).sort()).toEqual(['after b', 'after c', 'before b', 'before c']);
  for (const n of ['b', 'c']) expect(lines.indexOf(`before ${n}`)).toBeLessThan(lines.indexOf(`after ${n}`));
}

describe('rolling deploy to example hosts', () => {
  it('automatic import: a canary, then the rest; each host verified on the new release', async () => {
    for (const n of NAMES) await fleet.startHost(n, 'automatic');
    const v1 = fleet.release('v1', { 'orders.json': workflow('Orders'), 'lab.json': workflow('Lab') });
    const v2 = fleet.release('v2', {
      'orders.json': workflow('Orders', ['receive', 'transform', 'send']),
      'lab.json': workflow('Lab'),
      'billing.json': workflow('Billing'),
    });
    fleet.writeConfig(config({ settle: '100ms' }));

    const r1 = await fleet.deploy('v1');
    expect(r1.code, r1.stderr).toBe(0);
    expect(r1.report).toMatchObject({ command: 'deploy', status: 'succeeded', to: v1, ref: 'v1' });
    expect(r1.report.waves).toEqual([['a'], ['b', 'c']]);
    for (const n of NAMES) {
      const t = targetOf(r1.report, n);
      expect(t).toMatchObject({ status: 'deployed', from: null, to: v1, error: null });
      expect(t.changes.added.sort()).toEqual(['lab.json', 'orders.json']);
      expect(stepNames(r1.report, n)).toEqual(DEPLOYED_STEPS);
      expect(t.steps.every((s) => s.status === 'ok')).toBe(true);
      // The check passed on the new release, as many times in a row as demanded.
      expect(t.steps.find((s) => s.name === 'verify')!.detail).toMatch(/^ok http .*2 successes in a row/);
    }
    expectCanaryFirst(fleet.hookLog());
    await expectRunning('v1', v1, ['lab.json', 'orders.json']);
    expect(fleet.tree('a', true)).toEqual({
      'lab.json': { type: 'file', content: workflow('Lab'), exec: false },
      'orders.json': { type: 'file', content: workflow('Orders'), exec: false },
    });

    const seen = fleet.hookLog().length;
    const r2 = await fleet.deploy('v2');
    expect(r2.code, r2.stderr).toBe(0);
    expect(r2.report.status).toBe('succeeded');
    for (const n of NAMES) {
      expect(targetOf(r2.report, n)).toMatchObject({
        status: 'deployed',
        from: v1,
        to: v2,
        changes: { added: ['billing.json'], updated: ['orders.json'], deleted: [] },
      });
    }
    expectCanaryFirst(fleet.hookLog(seen));
    await expectRunning('v2', v2, ['billing.json', 'lab.json', 'orders.json']);
    // Each host imported the files as they arrived, drained while it happened.
    expect(fleet.hosts.get('a')!.output()).toMatch(/drained[\s\S]*imported billing\.json[\s\S]*enabled/);

    // Nothing to do: exit 0, every target unchanged, no hook runs.
    const count = fleet.hookLog().length;
    const r3 = await fleet.deploy('v2');
    expect(r3.code, r3.stderr).toBe(0);
    expect(r3.report.targets.map((t) => t.status)).toEqual(['unchanged', 'unchanged', 'unchanged']);
    expect(fleet.hookLog().length).toBe(count);
  });

  it('on-restart import: activate restarts each host, which then reports the new release', async () => {
    for (const n of NAMES) await fleet.startHost(n, 'on-restart');
    const v1 = fleet.release('v1', { 'orders.json': workflow('Orders') });
    const v2 = fleet.release('v2', {
      'orders.json': workflow('Orders', ['receive', 'log', 'send']),
      'sub/lab.json': workflow('Lab'),
    });
    fleet.writeConfig(
      config({ run: `${logLine('activate')} && ${ctl('restart --port {vars.port}')}`, timeout: '10s' }),
    );

    const r1 = await fleet.deploy('v1');
    expect(r1.code, r1.stderr).toBe(0);
    expect(r1.report.targets.map((t) => t.status)).toEqual(['deployed', 'deployed', 'deployed']);
    await expectRunning('v1', v1, ['orders.json']);

    const seen = fleet.hookLog().length;
    const r2 = await fleet.deploy('v2');
    expect(r2.code, r2.stderr).toBe(0);
    for (const n of NAMES) {
      expect(stepNames(r2.report, n)).toEqual(DEPLOYED_STEPS);
      // The restart's answer (the output's tail) is in the report: nothing left pending.
      expect(targetOf(r2.report, n).steps.find((s) => s.name === 'activate')!.detail).toContain(
        '"pending":[]',
      );
    }
    const lines = fleet.hookLog(seen);
    expect(lines.slice(0, 3)).toEqual(['before a', 'activate a', 'after a']);
    for (const n of ['b', 'c'])
      expect(lines.filter((l) => l.endsWith(` ${n}`))).toEqual([
        `before ${n}`,
        `activate ${n}`,
        `after ${n}`,
      ]);
    await expectRunning('v2', v2, ['orders.json', 'sub/lab.json']);
    for (const n of NAMES) {
      const w = await fleet.hosts.get(n)!.json<{ pending: string[] }>('/workflows');
      expect(w.pending).toEqual([]);
      // Files landed while the host ran; it loaded them only at the restart diffship asked for.
      expect(fleet.hosts.get(n)!.output()).toMatch(
        /sub\/lab\.json changed on disk; it will be imported at the next restart[\s\S]*restarting \(POST \/restart\)[\s\S]*imported sub\/lab\.json/,
      );
    }
  });
});
