/**
 * Units that are single files: carbon apps (`.car`) in a WSO2-like polling
 * folder (examples/package-host/car-folder.mjs). `activate` only settles for
 * one scan interval; `verify` asks the management API that the app of this
 * very file is deployed and not faulty. A faulty app is rolled back.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Fleet, targetOf } from './e2e-fixture.js';

const SERVER = path.resolve(__dirname, '../../examples/package-host/car-folder.mjs');

let fleet: Fleet;
let child: ChildProcess | undefined;
beforeEach(() => {
  fleet = new Fleet();
});
afterEach(async () => {
  if (child && child.exitCode === null) {
    child.kill('SIGTERM');
    await once(child, 'exit');
  }
  await fleet.cleanup();
});

async function startFolder(dir: string): Promise<string> {
  mkdirSync(dir, { recursive: true });
  child = spawn(process.execPath, [SERVER, '--dir', dir, '--interval-ms', '150'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  const port = await new Promise<number>((resolve) =>
    child!.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      const m = /listening on http:\/\/[\d.]+:(\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    }),
  );
  return `http://127.0.0.1:${port}`;
}

const car = (artifacts: string[] | null) =>
  artifacts ? `${JSON.stringify({ artifacts })}\n` : 'PK\u0003\u0004 not json\n';

describe('carbon apps in a polling folder', () => {
  it('each changed .car is verified through the management API; a faulty one is rolled back', async () => {
    fleet.release('v1', {
      'carbonapps/orders_1.0.0.car': car(['api:orders']),
      'carbonapps/billing_1.0.0.car': car(['seq:bill']),
    });
    fleet.release('v2', {
      'carbonapps/orders_1.0.0.car': car(['api:orders']),
      'carbonapps/billing_1.0.0.car': car(null),
    });
    const dir = path.join(fleet.dir('mi'), 'carbonapps');
    const url = await startFolder(dir);
    fleet.writeConfig({
      source: 'workflows',
      mode: 'authoritative',
      units: {
        match: 'carbonapps/*.car',
        activate: { settle: '400ms' }, // one scan interval and then some: the folder polls
        verify: [
          {
            http: {
              url: `${url}/management/applications`,
              contains: '"faulty":false,"file":"{unit}"',
              timeout: '1s',
              interval: '100ms',
            },
          },
        ],
      },
      targets: [{ name: 'mi', path: './targets/mi' }],
    });
    const r1 = await fleet.deploy('v1');
    expect(r1.code, r1.stderr).toBe(0);
    expect(targetOf(r1.report, 'mi').units!.map((u) => [u.name, u.path, u.result])).toEqual([
      ['billing_1.0.0.car', 'carbonapps/billing_1.0.0.car', 'activated'],
      ['orders_1.0.0.car', 'carbonapps/orders_1.0.0.car', 'activated'],
    ]);
    const apps = async () =>
      ((await (await fetch(`${url}/management/applications`)).json()) as { list: unknown[] }).list;
    expect(await apps()).toEqual([
      { name: 'billing', version: '1.0.0', faulty: false, file: 'billing_1.0.0.car' },
      { name: 'orders', version: '1.0.0', faulty: false, file: 'orders_1.0.0.car' },
    ]);

    const r2 = await fleet.deploy('v2');
    expect(r2.code).not.toBe(0);
    const t = targetOf(r2.report, 'mi');
    expect(t.status).toBe('rolled-back');
    expect(t.units!.map((u) => [u.name, u.result])).toEqual([['billing_1.0.0.car', 'rolled-back']]);
    expect(t.error).toMatch(/^verify billing_1\.0\.0\.car: /);
    await new Promise((r) => setTimeout(r, 400));
    expect(await apps()).toContainEqual({
      name: 'billing',
      version: '1.0.0',
      faulty: false,
      file: 'billing_1.0.0.car',
    });
    expect(readdirSync(dir).sort()).toEqual(['billing_1.0.0.car', 'orders_1.0.0.car']);
  }, 120_000);
});
