/**
 * Shared storage (`nodes`): three example hosts serve one folder behind real
 * NGINX. The files ship once; then each node in turn is drained, restarted,
 * verified and restored, under a steady client stream: 0 failed requests.
 * A node that fails verify rolls the shared files back and re-activates
 * every node that had loaded them.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { afterEach, expect, it } from 'vitest';
import { startLoad, startNginx, type RunningBalancer } from '../helpers/balancers.js';
import { startHost } from '../helpers/host.js';
import { ctl, Fleet, workflow } from '../rollout/e2e-fixture.js';

let fleet: Fleet | undefined;
let lb: RunningBalancer | undefined;
afterEach(async () => {
  await lb?.stop();
  await fleet?.cleanup();
  lb = fleet = undefined;
});

const NODES = ['n1', 'n2', 'n3'];

/** `portOf` overrides a node's {vars.port} (a port nobody listens on makes its hooks and checks fail). */
async function setup(portOf: (n: string) => number | undefined = () => undefined) {
  fleet = new Fleet();
  fleet.release('v1', { 'orders.json': workflow('orders') });
  mkdirSync(fleet.dir('shared'), { recursive: true });
  for (const n of NODES) {
    const host = await startHost({
      dir: fleet.dir('shared'),
      importMode: 'on-restart',
      args: ['--poll-ms', '50', '--name', n, '--restart-delay', '800'],
    });
    fleet.hosts.set(n, host);
  }
  const addr = (n: string) => `127.0.0.1:${fleet!.hosts.get(n)!.port}`;
  lb = await startNginx(`${fleet.root}/lb`, NODES.map(addr));
  fleet.writeConfig({
    source: 'workflows',
    balancer: { type: 'nginx', 'upstream-file': lb.file, nginx: lb.command, interval: '100ms' },
    defaults: {
      activate: { run: ctl('restart --port {vars.port}'), timeout: '30s' },
      verify: [
        {
          http: {
            url: 'http://127.0.0.1:{vars.port}/health',
            status: 200,
            contains: 'release: {release}',
            interval: '100ms',
            timeout: '5s',
          },
        },
      ],
    },
    targets: [
      {
        name: 'shared',
        path: 'targets/shared',
        nodes: NODES.map((n) => ({
          name: n,
          'balancer-server': addr(n),
          vars: { port: portOf(n) ?? fleet!.hosts.get(n)!.port },
        })),
      },
    ],
  });
  return { fleet, lb };
}

it('ships the files once, then drains, activates, verifies and restores each node: 0 failed requests', async () => {
  const { fleet, lb } = await setup();
  const load = startLoad(`${lb.url}/health`, {
    concurrency: 4,
    pauseMs: 5,
    maxRequests: 20_000,
    maxMs: 60_000,
  });
  const run = await fleet.deploy('v1');
  const figures = await load.stop();
  expect(run.code, run.stderr).toBe(0);
  const steps = run.report.targets[0]!.steps.map((s) => (s.node ? `${s.node} ${s.name}` : s.name));
  expect(steps).toEqual([
    'lock',
    'plan',
    'apply',
    ...NODES.flatMap((n) => [`${n} drain`, `${n} activate`, `${n} verify`, `${n} restore`]),
    'unlock',
  ]);
  expect(figures.sent).toBeGreaterThan(100);
  expect(figures.failures).toEqual({});
  expect(readFileSync(lb.file, 'utf8')).not.toContain('down');
  for (const n of NODES) {
    expect((await fleet.hosts.get(n)!.request('/health')).body).toContain(
      `release: ${fleet.state('shared')!.release}`,
    );
  }
}, 90_000);

it('a node failing verify rolls the shared files back and re-activates the nodes that loaded them', async () => {
  // n2's activate and verify go to port 1, where nobody listens: n2 never gets healthy.
  const { fleet, lb } = await setup((n) => (n === 'n2' ? 1 : undefined));
  const run = await fleet.deploy('v1');
  expect(run.code).toBe(1);
  const t = run.report.targets[0]!;
  expect(t.status).toBe('rolled-back');
  const steps = t.steps.map((s) => `${s.node ? `${s.node} ` : ''}${s.name} ${s.status}`);
  expect(steps).toEqual([
    'lock ok',
    'plan ok',
    'apply ok',
    'n1 drain ok',
    'n1 activate ok',
    'n1 verify ok',
    'n1 restore ok',
    'n2 drain ok',
    'n2 activate failed',
    'n2 restore ok',
    'rollback ok',
    'n1 drain ok',
    'n1 activate ok',
    'n1 restore ok',
    'n2 drain ok',
    'n2 activate failed',
    'n2 restore ok',
    'unlock ok',
  ]);
  expect(readFileSync(lb.file, 'utf8')).not.toContain('down');
  // Rolled back to nothing (the folder held no release before), and n1 re-imported that.
  expect(fleet.state('shared')).toBeNull();
  expect((await fleet.hosts.get('n1')!.request('/health')).body).toContain('release: none');
}, 90_000);

it('diffship rollback restores the shared files once and walks the nodes again', async () => {
  const { fleet, lb } = await setup();
  const v1 = await fleet.deploy('v1');
  expect(v1.code, v1.stderr).toBe(0);
  fleet.release('v2', { 'orders.json': workflow('orders', ['receive', 'log', 'send']) });
  expect((await fleet.deploy('v2')).code).toBe(0);
  const run = await fleet.start('rollback', []).done;
  expect(run.code, run.stderr).toBe(0);
  const steps = run.report.targets[0]!.steps.map((s) => (s.node ? `${s.node} ${s.name}` : s.name));
  expect(steps).toEqual([
    'lock',
    'rollback',
    ...NODES.flatMap((n) => [`${n} drain`, `${n} activate`, `${n} verify`, `${n} restore`]),
    'unlock',
  ]);
  const release = fleet.state('shared')!.release;
  expect(release).toBe(v1.report.to);
  for (const n of NODES)
    expect((await fleet.hosts.get(n)!.request('/health')).body).toContain(`release: ${release}`);
  expect(readFileSync(lb.file, 'utf8')).not.toContain('down');
}, 90_000);
