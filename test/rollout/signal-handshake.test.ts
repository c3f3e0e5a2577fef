/**
 * SIGTERM while an SSH host has not answered the handshake (a host stuck before SSH's banner,
 * which does not answer a goodbye either): the CLI ends at once with a cancelled report. Before,
 * the connection's close waited for a close that never came, then the rollout's 4 s give-up.
 */
import { execFileSync } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { waitFor } from '../helpers/host.js';
import { Fleet, workflow, type CliRun } from './e2e-fixture.js';

let fleet: Fleet;
let silent: net.Server;
const sockets: net.Socket[] = [];
let run: CliRun;
let signalledAt = 0;
let exitedAt = 0;

beforeAll(async () => {
  fleet = new Fleet();
  // Accepts and never reads or writes.
  silent = net.createServer((s) => void sockets.push(s.on('error', () => {})));
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
  const { port } = silent.address() as net.AddressInfo;
  const key = path.join(fleet.root, 'id_ed25519');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
  fleet.release('v1', { 'orders.json': workflow('Orders') });
  fleet.writeConfig({
    source: 'workflows',
    targets: [
      {
        name: 'stuck',
        type: 'ssh',
        host: '127.0.0.1',
        port,
        user: 'deploy',
        path: '/srv/flows',
        'identity-file': key,
        'strict-host-key': false,
        'connect-timeout': '60s',
      },
    ],
  });
  const started = fleet.start('deploy', ['--to', 'v1']);
  await waitFor(() => sockets.length > 0, 20_000, 'the connection to the silent host');
  await new Promise((r) => setTimeout(r, 300)); // well into the wait for the banner
  signalledAt = Date.now();
  started.child.kill('SIGTERM');
  run = await started.done.finally(() => (exitedAt = Date.now()));
});
afterAll(async () => {
  for (const s of sockets) s.destroy();
  silent.close();
  await fleet.cleanup();
});

it('exits 1 soon after the signal, with a cancelled report', () => {
  expect(run.code, run.stderr).toBe(1);
  // ~40 ms alone on the machine; 4.1 s before (the rollout's give-up). Room for a loaded CI.
  expect(exitedAt - signalledAt).toBeLessThan(2500);
  expect(run.report.status).toBe('cancelled');
  expect(run.stderr).toContain('SIGTERM: cancelling');
});
