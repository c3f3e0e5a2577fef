/**
 * examples/nginx: the config loads with the NGINX balancer, every target's
 * server is in upstream.conf, and real `nginx -t` accepts nginx.conf (run in
 * a copy of the folder, as the example says: `-p "$PWD"`).
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { parseUpstream } from '../../src/balancer/nginx-upstream.js';
import { readFileSync } from 'node:fs';

const example = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../examples/nginx');

it('examples/nginx: a diffship.yml with the nginx balancer over the upstream nginx -t accepts', async () => {
  const config = await loadConfig(path.join(example, 'diffship.yml'), { env: {} });
  expect(config.balancer).toMatchObject({ type: 'nginx', upstreamFile: path.join(example, 'upstream.conf') });
  const upstream = parseUpstream(readFileSync(path.join(example, 'upstream.conf'), 'utf8'));
  expect(upstream.map((s) => s.address)).toEqual(config.targets.map((t) => t.balancerServer));
  expect(upstream.every((s) => !s.down)).toBe(true);
  expect(config.waves).toEqual([{ count: 1 }]);

  const dir = mkdtempSync(path.join(os.tmpdir(), 'diffship-nginx-example-'));
  try {
    cpSync(example, dir, { recursive: true });
    mkdirSync(path.join(dir, 'logs'));
    const nginx = config.balancer!.type === 'nginx' ? config.balancer!.nginx : '';
    const r = spawnSync('sh', ['-c', `${nginx} -t`], { cwd: dir, encoding: 'utf8' });
    expect(r.stderr).toContain('test is successful');
    expect(r.status).toBe(0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
