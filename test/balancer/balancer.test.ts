/**
 * The balancer's pure parts (the NGINX upstream file, HAProxy's `show stat`),
 * its config checks, and the real CLI against real NGINX/HAProxy: a wave that
 * would drain every server is refused (exit 2), a cancellation mid-drain
 * leaves nothing drained, and a balancer reached over SSH (`remote:`).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseUpstream, setServerDown } from '../../src/balancer/nginx-upstream.js';
import { parseShowStat } from '../../src/balancer/haproxy-stat.js';
import { askSocket } from '../../src/balancer/haproxy.js';
import { resolveConfig } from '../../src/config/resolve.js';
import { startHaproxy, startNginx, upstreamText, type RunningBalancer } from '../helpers/balancers.js';
import { cli } from '../helpers/cli.js';
import { waitFor } from '../helpers/host.js';
import { startSshd, type Sshd } from '../helpers/sshd.js';
import type { Fleet } from '../rollout/e2e-fixture.js';
import { lbDir, NAMES, proofConfig, startFleet } from './fixture.js';

describe('nginx upstream file', () => {
  const text =
    '# keep me\nserver 10.0.0.1:80 max_fails=3;  # one\n  server 10.0.0.2:80;\nserver 10.0.0.3:80 backup;\n';

  it('lists the servers with their down and backup flags', () => {
    expect(parseUpstream(text)).toEqual([
      { address: '10.0.0.1:80', down: false, backup: false },
      { address: '10.0.0.2:80', down: false, backup: false },
      { address: '10.0.0.3:80', down: false, backup: true },
    ]);
  });

  it('marks one server down and back, keeping every other byte', () => {
    const down = setServerDown(text, '10.0.0.1:80', true)!;
    expect(down).toBe(text.replace('max_fails=3;', 'max_fails=3 down;'));
    expect(setServerDown(down, '10.0.0.1:80', true)).toBe(down);
    expect(setServerDown(down, '10.0.0.1:80', false)).toBe(text);
    expect(setServerDown(text, '10.0.0.9:80', true)).toBeNull();
  });
});

describe('haproxy show stat', () => {
  it("reads the backend's servers, their status and current sessions", () => {
    const csv = [
      '# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,',
      'fe,FRONTEND,,,3,5,,,,,,,,,,,,OPEN,',
      'hosts,a,0,0,2,4,,,,,,,,,,,,UP,',
      'hosts,b,0,0,0,1,,,,,,,,,,,,DRAIN,',
      'hosts,BACKEND,0,0,2,5,,,,,,,,,,,,UP,',
      'other,a,0,0,7,7,,,,,,,,,,,,MAINT,',
    ].join('\n');
    expect(parseShowStat(csv, 'hosts')).toEqual([
      { name: 'a', status: 'UP', sessions: 2 },
      { name: 'b', status: 'DRAIN', sessions: 0 },
    ]);
    expect(() => parseShowStat('Unknown command', 'hosts')).toThrow(/unexpected answer/);
  });
});

describe('balancer config', () => {
  const base = (extra: Record<string, unknown>, server?: string) => ({
    targets: [{ name: 'a', path: 'a', ...(server ? { 'balancer-server': server } : {}) }],
    ...extra,
  });

  it('requires each type its keys and every target a balancer-server', () => {
    expect(() => resolveConfig(base({ balancer: { type: 'nginx' } }), { baseDir: '/tmp' })).toThrow(
      /balancer\.upstream-file: required for nginx[\s\S]*targets\[0\]: has no balancer-server/,
    );
    expect(() =>
      resolveConfig(base({ balancer: { type: 'haproxy', socket: 's' } }, 'a'), { baseDir: '/tmp' }),
    ).toThrow(/balancer\.backend: required for haproxy/);
    expect(() => resolveConfig(base({}, '127.0.0.1:1'), { baseDir: '/tmp' })).toThrow(
      /balancer-server: set, but there is no balancer section/,
    );
    const ok = resolveConfig(
      base({ balancer: { type: 'nginx', 'upstream-file': 'lb/up.conf' } }, '127.0.0.1:1'),
      {
        baseDir: '/tmp',
      },
    );
    expect(ok.balancer).toMatchObject({
      type: 'nginx',
      upstreamFile: '/tmp/lb/up.conf',
      nginx: 'nginx',
      drainTimeoutMs: 30_000,
    });
    expect(ok.targets[0]!.balancerServer).toBe('127.0.0.1:1');
  });
});

let fleet: Fleet | undefined;
let lb: RunningBalancer | undefined;
let sshd: Sshd | undefined;
afterEach(async () => {
  await lb?.stop();
  await fleet?.cleanup();
  await sshd?.stop();
  lb = fleet = sshd = undefined;
});

const addr = (f: Fleet, n: string) => `127.0.0.1:${f.hosts.get(n)!.port}`;

describe('with real balancers', () => {
  it('refuses a wave that would drain every server of the upstream: exit 2, nothing written', async () => {
    fleet = await startFleet();
    const file = path.join(fleet.root, 'upstream.conf');
    writeFileSync(file, upstreamText(NAMES.map((n) => addr(fleet!, n))));
    const config = proofConfig(fleet, { type: 'nginx', 'upstream-file': file, nginx: 'false' }, (n) =>
      addr(fleet!, n),
    );
    fleet.writeConfig({ ...config, waves: ['100%'] });
    const r = cli(fleet.root, ['deploy', '--config', 'diffship.yml', '--repo', fleet.repo.dir, '--to', 'v1']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/wave 1 would drain every server in service at nginx upstream/);
    for (const n of NAMES) expect(fleet.state(n)).toBeNull();
    expect(readFileSync(file, 'utf8')).not.toContain('down');

    // One server already down by hand: a wave of the other two is refused too.
    writeFileSync(
      file,
      readFileSync(file, 'utf8').replace(`${addr(fleet, 'c')};`, `${addr(fleet, 'c')} down;`),
    );
    fleet.writeConfig({ ...config, waves: [2] });
    const r2 = cli(fleet.root, [
      'deploy',
      '--config',
      'diffship.yml',
      '--repo',
      fleet.repo.dir,
      '--to',
      'v1',
    ]);
    expect(r2.code).toBe(2);
    expect(r2.stderr).toMatch(/wave 1 would drain every server/);

    writeFileSync(file, upstreamText([addr(fleet, 'a'), addr(fleet, 'b')]));
    const r3 = cli(fleet.root, [
      'deploy',
      '--config',
      'diffship.yml',
      '--repo',
      fleet.repo.dir,
      '--to',
      'v1',
    ]);
    expect(r3.code).toBe(2);
    expect(r3.stderr).toMatch(
      /target c: balancer-server "127\.0\.0\.1:\d+" is not a server of nginx upstream/,
    );
  }, 60_000);

  it('a SIGTERM mid-drain restores the server: nothing left down, target untouched', async () => {
    fleet = await startFleet();
    lb = await startNginx(
      lbDir(fleet),
      NAMES.map((n) => addr(fleet!, n)),
    );
    const balancer = {
      type: 'nginx',
      'upstream-file': lb.file,
      nginx: lb.command,
      interval: '100ms',
      'drain-timeout': '60s',
    };
    fleet.writeConfig(proofConfig(fleet, balancer, (n) => addr(fleet!, n)));
    // A connection to host a that stays open: the drain waits for it.
    const held = net.connect(fleet.hosts.get('a')!.port, '127.0.0.1');
    await new Promise((r) => held.once('connect', r));
    try {
      const started = fleet.start('deploy', ['--to', 'v1']);
      await waitFor(() => readFileSync(lb!.file, 'utf8').includes('down'), 20_000, 'a marked down');
      await new Promise((r) => setTimeout(r, 500));
      started.child.kill('SIGTERM');
      const run = await started.done;
      expect(run.code, run.stderr).toBe(1);
      expect(run.report.status).toBe('cancelled');
      const a = run.report.targets.find((t) => t.name === 'a')!;
      expect(a.steps.map((s) => `${s.name} ${s.status}`)).toEqual([
        'lock ok',
        'plan ok',
        'drain failed',
        'restore ok',
        'unlock ok',
      ]);
      expect(a.steps[2]!.detail).toMatch(/cancelled/);
      expect(readFileSync(lb.file, 'utf8')).toBe(upstreamText(NAMES.map((n) => addr(fleet!, n))));
      expect(fleet.state('a')).toBeNull();
      expect(fleet.leftovers('a')).toEqual([]);
    } finally {
      held.destroy();
    }
  }, 60_000);

  it('a SIGTERM while haproxy drains a server with a session in flight leaves every server ready', async () => {
    // Hosts that take 20 s to restart: a POST /restart through haproxy is a session held that long.
    fleet = await startFleet(20_000);
    lb = await startHaproxy(lbDir(fleet), Object.fromEntries(NAMES.map((n) => [n, addr(fleet!, n)])));
    const balancer = {
      type: 'haproxy',
      socket: lb.file,
      backend: 'hosts',
      interval: '100ms',
      'drain-timeout': '60s',
    };
    fleet.writeConfig(proofConfig(fleet, balancer, (n) => n));
    // Round robin: one held request on each server.
    const hold = new AbortController();
    const held = NAMES.map(() =>
      fetch(`${lb!.url}/restart`, { method: 'POST', signal: hold.signal }).catch(() => null),
    );
    const sessions = async () => parseShowStat(await askSocket(lb!.file, 'show stat'), 'hosts');
    await waitFor(
      async () => (await sessions()).every((s) => s.sessions === 1),
      10_000,
      'a session on each server',
    );
    const started = fleet.start('deploy', ['--to', 'v1']);
    await waitFor(
      async () => (await sessions()).some((s) => s.status === 'DRAIN'),
      20_000,
      'a server draining',
    );
    await new Promise((r) => setTimeout(r, 500));
    started.child.kill('SIGTERM');
    const run = await started.done;
    expect(run.code, run.stderr).toBe(1);
    expect(run.report.status).toBe('cancelled');
    const a = run.report.targets.find((t) => t.name === 'a')!;
    expect(a.steps.map((s) => `${s.name} ${s.status}`)).toEqual([
      'lock ok',
      'plan ok',
      'drain failed',
      'restore ok',
      'unlock ok',
    ]);
    expect((await sessions()).map((s) => s.status)).toEqual(['no check', 'no check', 'no check']);
    expect(fleet.state('a')).toBeNull();
    // The held sessions let go (not waited out: the hosts' 20 s restarts end with the fleet).
    hold.abort();
    await Promise.all(held);
  }, 90_000);

  it('drains at nginx and haproxy on a balancer host reached over SSH (remote:)', async () => {
    // Quick restarts: this checks the remote drain and restore (the proof of no failed request
    // during slow restarts is e2e-nginx / e2e-haproxy's).
    fleet = await startFleet(200);
    sshd = await startSshd();
    const remote = {
      host: '127.0.0.1',
      port: sshd.port,
      user: sshd.user,
      'identity-file': sshd.identityFile,
      'known-hosts': path.join(sshd.dir, 'known_hosts'),
    };
    lb = await startNginx(
      path.join(lbDir(fleet), 'nginx'),
      NAMES.map((n) => addr(fleet!, n)),
    );
    const nginx = { type: 'nginx', 'upstream-file': lb.file, nginx: lb.command, interval: '100ms', remote };
    fleet.writeConfig(proofConfig(fleet, nginx, (n) => addr(fleet!, n)));
    const run = await fleet.deploy('v1');
    expect(run.code, run.stderr).toBe(0);
    const drain = run.report.targets.map((t) => t.steps.find((s) => s.name === 'drain')?.detail);
    expect(drain).toEqual(
      NAMES.map((n) =>
        expect.stringMatching(new RegExp(`${addr(fleet!, n)} marked down, nginx reloaded; drained`)),
      ),
    );
    expect(readFileSync(lb.file, 'utf8')).not.toContain('down');
    await lb.stop();

    lb = await startHaproxy(
      path.join(lbDir(fleet), 'haproxy'),
      Object.fromEntries(NAMES.map((n) => [n, addr(fleet!, n)])),
    );
    fleet.release('v2', { 'orders.json': '{"name":"orders","steps":[{"type":"receive"}]}\n' });
    const haproxy = { type: 'haproxy', socket: lb.file, backend: 'hosts', interval: '100ms', remote };
    fleet.writeConfig(proofConfig(fleet, haproxy, (n) => n));
    const run2 = await fleet.deploy('v2');
    expect(run2.code, run2.stderr).toBe(0);
    const steps = run2.report.targets.map((t) =>
      t.steps.filter((s) => s.name === 'drain' || s.name === 'restore').map((s) => s.detail),
    );
    expect(steps).toEqual(
      NAMES.map((n) => [
        expect.stringMatching(new RegExp(`^hosts/${n} state drain; drained after`)),
        `hosts/${n} state ready`,
      ]),
    );
    const stat = parseShowStat(await askSocket(lb.file, 'show stat'), 'hosts');
    expect(stat.every((s) => s.status === 'no check')).toBe(true);
  }, 90_000);
});
