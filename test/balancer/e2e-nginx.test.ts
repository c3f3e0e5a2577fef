/**
 * The zero-downtime proof behind real NGINX: a steady client stream through
 * it during a rolling deploy of three slowly restarting hosts. With the
 * balancer drain no request fails; without it, some do (the test bites).
 */
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import type { Fleet } from '../rollout/e2e-fixture.js';
import { startNginx, type RunningBalancer } from '../helpers/balancers.js';
import { deployUnderLoad, lbDir, NAMES, proofConfig, startFleet } from './fixture.js';

let fleet: Fleet | undefined;
let lb: RunningBalancer | undefined;
afterEach(async () => {
  await lb?.stop();
  await fleet?.cleanup();
  lb = fleet = undefined;
});

async function setup() {
  fleet = await startFleet();
  const servers = NAMES.map((n) => `127.0.0.1:${fleet!.hosts.get(n)!.port}`);
  lb = await startNginx(lbDir(fleet), servers);
  return { fleet, lb, server: (n: string) => `127.0.0.1:${fleet!.hosts.get(n)!.port}` };
}

describe('zero downtime behind nginx', () => {
  it('drains each host at nginx: 0 failed requests during the rollout, nothing left down', async () => {
    const { fleet, lb, server } = await setup();
    const balancer = {
      type: 'nginx',
      'upstream-file': lb.file,
      nginx: lb.command,
      interval: '100ms',
      'drain-timeout': '10s',
    };
    fleet.writeConfig(proofConfig(fleet, balancer, server));
    const { run, load } = await deployUnderLoad(fleet, lb.url, 'nginx, drain');
    console.log(`nginx drain: ${JSON.stringify(load)}`);
    expect(run.code, run.stderr).toBe(0);
    expect(run.report.status).toBe('succeeded');
    for (const t of run.report.targets) {
      expect(t.steps.map((s) => s.name)).toEqual([
        'lock',
        'plan',
        'drain',
        'apply',
        'activate',
        'verify',
        'restore',
        'unlock',
      ]);
    }
    expect(load.sent).toBeGreaterThan(200);
    expect(load.failures).toEqual({});
    expect(load.failed).toBe(0);
    expect(readFileSync(lb.file, 'utf8')).not.toContain('down');
  }, 120_000);

  it('without the drain, requests fail while a host restarts (the proof bites)', async () => {
    const { fleet, lb, server } = await setup();
    fleet.writeConfig(proofConfig(fleet, undefined, server));
    const { run, load } = await deployUnderLoad(fleet, lb.url, 'nginx, no drain');
    console.log(`nginx no drain: ${JSON.stringify(load)}`);
    expect(run.code, run.stderr).toBe(0);
    expect(load.failed).toBeGreaterThan(0);
    expect(Object.keys(load.failures)).toEqual(['HTTP 503']);
  }, 120_000);
});
