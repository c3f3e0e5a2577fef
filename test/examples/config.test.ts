import path from 'node:path';
import fs from 'node:fs/promises';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { startHost } from '../helpers/host.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const example = path.resolve(here, '../../examples/host');

describe('examples/host', () => {
  it('ships a diffship.yml that loads, with the hooks its README describes', async () => {
    const config = await loadConfig(path.join(example, 'diffship.yml'), { env: {} });
    expect(config.targets.map((t) => [t.name, t.path])).toEqual([
      ['host-a', path.join(example, 'hosts/a')],
      ['host-b', path.join(example, 'hosts/b')],
      ['host-c', path.join(example, 'hosts/c')],
    ]);
    const [a, , c] = config.targets;
    expect(a!.hooks.before?.run).toBe('node ctl.mjs drain --port {vars.port}');
    expect(a!.hooks.activate).toMatchObject({ settleMs: 500 });
    expect(c!.hooks.activate?.run).toBe('node ctl.mjs restart --port {vars.port}');
    expect(a!.hooks.verify).toEqual([
      expect.objectContaining({ kind: 'http', contains: 'release: {release}', successThreshold: 2 }),
    ]);
  });

  it('ships sample workflows the host loads as valid', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'diffship-samples-'));
    try {
      await fs.cp(path.join(example, 'workflows'), dir, { recursive: true });
      const h = await startHost({ dir });
      try {
        const w = (await h.json('/workflows')) as { files: Array<{ name: string; valid: boolean }> };
        expect(w.files).toEqual([
          expect.objectContaining({ name: 'Lab results', valid: true }),
          expect.objectContaining({ name: 'Orders in', valid: true }),
        ]);
        expect((await h.request('/health')).status).toBe(200);
      } finally {
        await h.stop();
      }
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});
