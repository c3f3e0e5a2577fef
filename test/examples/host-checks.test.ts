/**
 * The rollout building blocks against the real example host: hooks flip its
 * in-service switch and restart its import; checks prove the new release is
 * live, and catch a broken one.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CheckSpec } from '../../src/config/types.js';
import { runCheck } from '../../src/rollout/checks/index.js';
import { hookEnv, runHook } from '../../src/rollout/hooks.js';
import { CTL, startHost, type RunningHost } from '../helpers/host.js';

let root: string;
let dir: string;
const hosts: RunningHost[] = [];
const A = 'a'.repeat(40);
const B = 'b'.repeat(40);

beforeEach(async () => {
  root = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'diffship-host-checks-')));
  dir = path.join(root, 'workflows');
  await fs.mkdir(path.join(dir, '.diffship'), { recursive: true });
});
afterEach(async () => {
  for (const h of hosts.splice(0)) await h.stop();
  await fs.rm(root, { recursive: true, force: true });
});

/** What an apply does, in its order: files first (by rename), the state last. */
async function ship(release: string, files: Record<string, unknown>) {
  for (const [rel, doc] of Object.entries(files)) {
    await fs.writeFile(path.join(dir, `.${rel}.tmp`), JSON.stringify(doc));
    await fs.rename(path.join(dir, `.${rel}.tmp`), path.join(dir, rel));
  }
  await fs.writeFile(path.join(dir, '.diffship', 'state.tmp'), JSON.stringify({ version: 1, release }));
  await fs.rename(path.join(dir, '.diffship', 'state.tmp'), path.join(dir, '.diffship', 'state.json'));
}

const healthCheck = (url: string, release: string, timeoutMs = 3000): CheckSpec => ({
  kind: 'http',
  url: `${url}/health`,
  method: 'GET',
  headers: {},
  status: [200],
  contains: `release: ${release}`,
  intervalMs: 100,
  timeoutMs,
  successThreshold: 2,
});
const env = hookEnv({
  target: 'soup-a',
  host: '127.0.0.1',
  path: '',
  release: B,
  previousRelease: A,
  deployId: 'd1',
  changesFile: '/dev/null',
});

describe('hooks and checks against the example host', () => {
  it('drains, ships, proves the new release is live (automatic import), and enables', async () => {
    await ship(A, { 'orders.json': { name: 'Orders', steps: [{ type: 'receive' }] } });
    const h = await startHost({ dir, importMode: 'automatic' });
    hosts.push(h);
    const hook = { timeoutMs: 10_000, settleMs: 0 };
    const node = JSON.stringify(process.execPath);

    const before = await runHook(hook, { run: `${node} ${CTL} drain --port ${h.port}`, cwd: root, env });
    expect(before.ok).toBe(true);
    expect((await h.request('/in-service')).status).toBe(503);

    await ship(B, { 'orders.json': { name: 'Orders v2', steps: [{ type: 'receive' }, { type: 'send' }] } });
    const attempts: string[] = [];
    const verify = await runCheck(healthCheck(h.url, B), {
      host: '127.0.0.1',
      cwd: root,
      onAttempt: (_n, m) => attempts.push(m),
    });
    expect(verify.ok).toBe(true);
    expect(verify.detail).toBe(
      `GET ${h.url}/health → 200 (2 successes in a row, ${verify.attempts} attempts)`,
    );

    const after = await runHook(hook, { run: `${node} ${CTL} enable --port ${h.port}`, cwd: root, env });
    expect(after.ok).toBe(true);
    expect((await h.request('/in-service')).status).toBe(200);
  });

  it('needs the activate restart in on-restart mode before the release is live', async () => {
    await ship(A, { 'orders.json': { name: 'Orders', steps: [] } });
    const h = await startHost({ dir, importMode: 'on-restart' });
    hosts.push(h);
    await ship(B, { 'orders.json': { name: 'Orders v2', steps: [] } });

    const early = await runCheck(healthCheck(h.url, B, 500), { host: '127.0.0.1', cwd: root });
    expect(early.ok).toBe(false);
    expect(early.detail.split('\n')[0]).toBe(
      `GET ${h.url}/health → 200, body does not contain "release: ${B}"; body: "ok release: ${A} workflows: 1"`,
    );

    const node = JSON.stringify(process.execPath);
    const activate = await runHook(
      { timeoutMs: 10_000, settleMs: 0 },
      { name: 'activate', run: `${node} ${CTL} restart --port ${h.port}`, cwd: root, env },
    );
    expect(activate.ok).toBe(true);
    expect((await runCheck(healthCheck(h.url, B), { host: '127.0.0.1', cwd: root })).ok).toBe(true);
  });

  it('fails verification of a broken release with the reason the host gives', async () => {
    await ship(A, { 'orders.json': { name: 'Orders', steps: [] } });
    const h = await startHost({ dir, importMode: 'automatic' });
    hosts.push(h);
    await ship(B, { 'orders.json': { name: 'Orders v3', steps: [{ type: 'explode' }] } });
    const r = await runCheck(healthCheck(h.url, B, 800), { host: '127.0.0.1', cwd: root });
    expect(r.ok).toBe(false);
    expect(r.detail.split('\n')[0]).toBe(
      `GET ${h.url}/health → 503 (expected 200); body: "invalid orders.json: step 1 has unknown type \\"explode\\" release: ${B} workflows: 1"`,
    );
  });
});
