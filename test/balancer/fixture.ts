/**
 * The zero-downtime proof's setup: three example hosts that restart slowly
 * (`/health` answers 503 while restarting), a real load balancer in front of
 * them, a steady client stream through it during a real `diffship deploy`.
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { Fleet, ctl, workflow, type CliRun } from '../rollout/e2e-fixture.js';
import { startHost } from '../helpers/host.js';
import { startLoad, type LoadResult } from '../helpers/balancers.js';

export const NAMES = ['a', 'b', 'c'];
/** How long a host's restart takes (503 meanwhile). */
const RESTART_MS = 1500;

/** Start the three hosts (on-restart import: `activate` restarts them). */
export async function startFleet(restartMs = RESTART_MS): Promise<Fleet> {
  const fleet = new Fleet();
  fleet.release('v1', { 'orders.json': workflow('orders'), 'billing.json': workflow('billing') });
  for (const n of NAMES) {
    mkdirSync(fleet.dir(n), { recursive: true });
    const host = await startHost({
      dir: fleet.dir(n),
      importMode: 'on-restart',
      args: ['--poll-ms', '50', '--name', n, '--restart-delay', String(restartMs)],
    });
    fleet.hosts.set(n, host);
  }
  return fleet;
}

/** The diffship.yml of the proof; `balancer` undefined turns the drain off. */
export function proofConfig(
  fleet: Fleet,
  balancer: Record<string, unknown> | undefined,
  server: (n: string) => string,
) {
  return {
    source: 'workflows',
    waves: [1],
    'max-parallel': 1,
    ...(balancer ? { balancer } : {}),
    defaults: {
      activate: { run: ctl('restart --port {vars.port}'), timeout: '30s' },
      verify: [
        {
          http: {
            url: 'http://127.0.0.1:{vars.port}/health',
            status: 200,
            contains: 'release: {release}',
            interval: '100ms',
            timeout: '20s',
          },
        },
      ],
    },
    targets: NAMES.map((n) => ({
      name: n,
      path: `targets/${n}`,
      vars: { port: fleet.hosts.get(n)!.port },
      ...(balancer ? { 'balancer-server': server(n) } : {}),
    })),
  };
}

export interface ProofRun {
  run: CliRun;
  load: LoadResult;
}

/**
 * Deploy v1 while a client stream runs through `url`; the stream starts 0.3 s
 * before and ends 0.3 s after the rollout. `label` names the figures
 * bench/balancer/run.mjs collects (a JSON line in $DIFFSHIP_BENCH_OUT, when set).
 */
export async function deployUnderLoad(fleet: Fleet, url: string, label: string): Promise<ProofRun> {
  const load = startLoad(`${url}/health`, { concurrency: 4, pauseMs: 5, maxRequests: 40_000, maxMs: 90_000 });
  await new Promise((r) => setTimeout(r, 300));
  const run = await fleet.deploy('v1');
  await new Promise((r) => setTimeout(r, 300));
  const result = { run, load: await load.stop() };
  const out = process.env.DIFFSHIP_BENCH_OUT;
  if (out)
    appendFileSync(out, `${JSON.stringify({ label, rolloutMs: run.ms, exit: run.code, ...result.load })}\n`);
  return result;
}

export const lbDir = (fleet: Fleet) => path.join(fleet.root, 'lb');
