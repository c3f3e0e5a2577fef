/**
 * End to end: SIGTERM (a cancelled workflow run) in the middle of a wave. Two
 * targets are in their `verify` step, waiting on a slow health endpoint; the
 * rest have not started. The CLI starts nothing new, rolls the two back, runs
 * their `after`, releases every lock, writes a `cancelled` report and exits 1.
 * A second SIGTERM while it cleans up changes none of that.
 */
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { SnapEntry } from '../helpers/repo.js';
import { waitFor } from '../helpers/host.js';
import { Fleet, logLine, stepNames, targetOf, workflow, type CliRun } from './e2e-fixture.js';
import { ROLLED_BACK_AT_VERIFY_STEPS } from '../helpers/steps.js';

let fleet: Fleet;
let server: http.Server;
/** Health requests received and not yet answered, by target. */
const waiting = new Map<string, number>();
const aborted: string[] = [];
const names = ['t1', 't2', 't3', 't4'];
const trees: Record<string, Record<string, SnapEntry>> = {};
const states: Record<string, unknown> = {};
let v1: string;
let v2: string;
let run: CliRun;
let signalledAt = 0;

beforeAll(async () => {
  fleet = new Fleet();
  // A health endpoint that takes 20 s to answer each request.
  server = http.createServer((req, res) => {
    const name = req.url!.split('/').pop()!;
    waiting.set(name, (waiting.get(name) ?? 0) + 1);
    const timer = setTimeout(() => res.end('ok'), 20_000);
    res.on('close', () => {
      clearTimeout(timer);
      waiting.set(name, waiting.get(name)! - 1);
      if (!res.writableFinished) aborted.push(name);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;

  v1 = fleet.release('v1', { 'orders.json': workflow('Orders'), 'lab.json': workflow('Lab') });
  v2 = fleet.release('v2', {
    'orders.json': workflow('Orders', ['receive', 'log', 'send']),
    'billing.json': workflow('Billing'),
  });
  const targets = names.map((n) => ({ name: n, path: `targets/${n}` }));
  fleet.writeConfig({ source: 'workflows', targets }, 'plain.yml');
  fleet.writeConfig({
    source: 'workflows',
    // Wave 1: t1–t3, two at a time (t3 waits); wave 2: t4.
    waves: [3],
    'max-parallel': 2,
    defaults: {
      before: { run: logLine('before') },
      activate: { run: logLine('activate') },
      verify: [
        { http: { url: `http://127.0.0.1:${port}/health/{name}`, interval: '100ms', timeout: '60s' } },
      ],
      // A slow `after`, so that the second signal lands while it runs.
      after: { run: `${logLine('after-start')} && sleep 1.5 && ${logLine('after-end')}` },
    },
    targets,
  });
  const first = await fleet.deploy('v1', [], 'plain.yml');
  if (first.code !== 0) throw new Error(`v1 deploy failed:\n${first.stderr}`);
  for (const n of names) {
    trees[n] = fleet.tree(n);
    states[n] = fleet.state(n);
  }

  const logFrom = fleet.hookLog().length;
  const started = fleet.start('deploy', ['--to', 'v2']);
  // Both targets of the first batch are in verify, each with a request hanging on the endpoint.
  await waitFor(() => (waiting.get('t1') ?? 0) > 0 && (waiting.get('t2') ?? 0) > 0, 20_000, 'two verifies');
  signalledAt = Date.now();
  started.child.kill('SIGTERM');
  // The second signal lands while cleanup runs: wait for an `after` to start, not for a time.
  await waitFor(
    () => fleet.hookLog(logFrom).some((l) => l.startsWith('after-start')),
    20_000,
    'an after hook',
  );
  started.child.kill('SIGTERM');
  run = await started.done;
});
afterAll(async () => {
  server.closeAllConnections();
  server.close();
  await fleet.cleanup();
});

it('exits 1 soon after the signal, with a cancelled report', () => {
  expect(run.code, run.stderr).toBe(1);
  expect(Date.now() - signalledAt).toBeLessThan(10_000);
  expect(run.report).toMatchObject({ command: 'deploy', status: 'cancelled', to: v2 });
  expect(run.stderr).toContain('SIGTERM: cancelling');
  expect(run.stderr).toContain('SIGTERM: still cleaning up');
  // The targets undone by the cancellation are not reported as a max-failures halt.
  expect(run.stderr).not.toContain('past max-failures');
});

it('rolls back the targets in flight and runs their after hook to the end', () => {
  for (const n of ['t1', 't2']) {
    const t = targetOf(run.report, n);
    expect(t).toMatchObject({ status: 'rolled-back', from: v1, to: v2 });
    expect(stepNames(run.report, n)).toEqual(ROLLED_BACK_AT_VERIFY_STEPS);
    expect(t.steps.find((s) => s.name === 'verify')).toMatchObject({ status: 'failed' });
    expect(t.steps.find((s) => s.name === 'verify')!.detail).toMatch(/cancel/i);
    expect(t.steps.find((s) => s.name === 'rollback')!.status).toBe('ok');
    expect(t.steps.find((s) => s.name === 'after')!.status).toBe('ok');
    expect(t.steps.find((s) => s.name === 'unlock')!.status).toBe('ok');
    // Files and recorded release as before the deploy, byte for byte.
    expect(fleet.tree(n, true)).toEqual(
      Object.fromEntries(Object.entries(trees[n]!).filter(([p]) => !p.startsWith('.diffship'))),
    );
    expect(fleet.state(n)).toEqual(states[n]);
  }
  const log = fleet.hookLog();
  for (const n of ['t1', 't2']) {
    expect(log.filter((l) => l.endsWith(` ${n}`))).toEqual([
      `before ${n}`,
      `activate ${n}`,
      `activate ${n}`,
      `after-start ${n}`,
      `after-end ${n}`,
    ]);
  }
  // The hanging health requests were abandoned, not waited out.
  expect(aborted.sort()).toEqual(expect.arrayContaining(['t1', 't2']));
});

it('starts nothing new: the rest of the wave and the next wave are skipped, untouched', () => {
  for (const n of ['t3', 't4']) {
    expect(targetOf(run.report, n)).toMatchObject({
      status: 'skipped',
      steps: [],
      error: 'cancelled before it started',
    });
    expect(fleet.tree(n)).toEqual(trees[n]);
  }
  expect(fleet.hookLog().some((l) => / t[34]$/.test(l))).toBe(false);
});

it('leaves no lock, journal or staged file in any target', () => {
  for (const n of names) expect(fleet.leftovers(n)).toEqual([]);
});

it('a later deploy finds every target free and consistent', async () => {
  const again = await fleet.deploy('v2', [], 'plain.yml');
  expect(again.code, again.stderr).toBe(0);
  expect(again.report.targets.map((t) => t.status)).toEqual(['deployed', 'deployed', 'deployed', 'deployed']);
  for (const n of names) {
    expect(fleet.state(n)?.release).toBe(v2);
    expect(targetOf(again.report, n).steps[0]).toMatchObject({
      name: 'lock',
      status: 'ok',
      detail: 'locked',
    });
  }
});
