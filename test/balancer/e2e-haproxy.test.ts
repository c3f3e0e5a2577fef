/**
 * The zero-downtime proof behind real HAProxy: `set server … state drain`
 * through the runtime API socket, `show stat` until the server's sessions
 * are 0, `state ready` after. 0 failed requests with it, some without.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Fleet } from '../rollout/e2e-fixture.js';
import { startHaproxy, type RunningBalancer } from '../helpers/balancers.js';
import { askSocket } from '../../src/balancer/haproxy.js';
import { parseShowStat } from '../../src/balancer/haproxy-stat.js';
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
  const servers = Object.fromEntries(NAMES.map((n) => [n, `127.0.0.1:${fleet!.hosts.get(n)!.port}`]));
  lb = await startHaproxy(lbDir(fleet), servers);
  return { fleet, lb };
}

describe('zero downtime behind haproxy', () => {
  it('drains each server through the runtime API: 0 failed requests, every server UP after', async () => {
    const { fleet, lb } = await setup();
    const balancer = {
      type: 'haproxy',
      socket: lb.file,
      backend: 'hosts',
      interval: '100ms',
      'drain-timeout': '10s',
    };
    fleet.writeConfig(proofConfig(fleet, balancer, (n) => n));
    const { run, load } = await deployUnderLoad(fleet, lb.url, 'haproxy, drain');
    console.log(`haproxy drain: ${JSON.stringify(load)}`);
    expect(run.code, run.stderr).toBe(0);
    expect(run.report.targets.map((t) => t.steps.map((s) => s.name).join(' '))).toEqual(
      NAMES.map(() => 'lock plan drain apply activate verify restore unlock'),
    );
    expect(load.sent).toBeGreaterThan(200);
    expect(load.failures).toEqual({});
    const stat = parseShowStat(await askSocket(lb.file, 'show stat'), 'hosts');
    expect(stat.map((s) => `${s.name} ${s.status}`)).toEqual(NAMES.map((n) => `${n} no check`));
  }, 120_000);

  it('without the drain, requests fail while a host restarts (the proof bites)', async () => {
    const { fleet, lb } = await setup();
    fleet.writeConfig(proofConfig(fleet, undefined, (n) => n));
    const { run, load } = await deployUnderLoad(fleet, lb.url, 'haproxy, no drain');
    console.log(`haproxy no drain: ${JSON.stringify(load)}`);
    expect(run.code, run.stderr).toBe(0);
    expect(load.failed).toBeGreaterThan(0);
    expect(Object.keys(load.failures)).toEqual(['HTTP 503']);
  }, 120_000);
});
