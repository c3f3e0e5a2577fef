import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CTL, startHost, waitFor, type RunningHost } from '../helpers/host.js';

const exec = promisify(execFile);

interface Workflows {
  release: string | null;
  imports: number;
  files: Array<{ path: string; blob: string; name: string; valid: boolean; problems: string[] }>;
  ignored: Array<{ path: string; blob: string | null; reason: string }>;
  pending: string[];
}

let dir: string;
let root: string;
const hosts: RunningHost[] = [];

beforeEach(async () => {
  root = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'diffship-host-')));
  dir = path.join(root, 'workflows');
  await fs.mkdir(dir);
});
afterEach(async () => {
  for (const h of hosts.splice(0)) await h.stop();
  await fs.rm(root, { recursive: true, force: true });
});

async function host(importMode: 'automatic' | 'on-restart', args: string[] = [], stateFile?: string) {
  const h = await startHost({ dir, importMode, args, stateFile });
  hosts.push(h);
  return h;
}

const workflow = (name: string, steps: unknown[] = [{ type: 'receive' }, { type: 'send' }], extra = {}) =>
  `${JSON.stringify({ name, steps, ...extra }, null, 2)}\n`;

/** Write a file the way diffship does: complete under a dot name, then renamed into place. */
async function put(rel: string, text: string) {
  const file = path.join(dir, rel);
  await fs.mkdir(path.dirname(file), { recursive: true });
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.tmp`);
  await fs.writeFile(tmp, text);
  await fs.rename(tmp, file);
}

const hashObject = (rel: string) =>
  execFileSync('git', ['hash-object', path.join(dir, rel)])
    .toString()
    .trim();
const blobs = (w: Workflows) => Object.fromEntries(w.files.map((f) => [f.path, f.blob]));
const ctl = (...args: string[]) =>
  exec(process.execPath, [CTL, ...args]).then(
    (r) => ({ code: 0, stdout: r.stdout }),
    (e: { code: number; stdout: string }) => ({ code: e.code, stdout: e.stdout }),
  );

describe('example host', () => {
  it('imports files as they arrive (automatic), with their git blob ids', async () => {
    await put('orders.json', workflow('Orders in'));
    const h = await host('automatic');
    expect(blobs(await h.json<Workflows>('/workflows'))).toEqual({
      'orders.json': hashObject('orders.json'),
    });

    await put('sub/lab.json', workflow('Lab results'));
    await put('orders.json', workflow('Orders in v2'));
    const w = await waitFor(async () => {
      const w = await h.json<Workflows>('/workflows');
      return w.files.length === 2 && w.files[0]!.name === 'Orders in v2' ? w : null;
    });
    expect(blobs(w)).toEqual({
      'orders.json': hashObject('orders.json'),
      'sub/lab.json': hashObject('sub/lab.json'),
    });
    expect(w.files.map((f) => f.name)).toEqual(['Orders in v2', 'Lab results']);
    expect(h.output()).toContain('imported sub/lab.json');

    await fs.rm(path.join(dir, 'orders.json'));
    await waitFor(async () => (await h.json<Workflows>('/workflows')).files.length === 1);
    expect(h.output()).toContain('unloaded orders.json');
  });

  it('imports only at (re)start in on-restart mode', async () => {
    await put('orders.json', workflow('v1'));
    const h = await host('on-restart');
    const v1 = hashObject('orders.json');
    await put('orders.json', workflow('v2'));
    await put('new.json', workflow('new'));
    const v2 = hashObject('orders.json');

    const before = await waitFor(async () => {
      const w = await h.json<Workflows>('/workflows');
      return w.pending.length === 2 ? w : null;
    });
    expect(blobs(before)).toEqual({ 'orders.json': v1 });
    expect(before.pending).toEqual(['new.json', 'orders.json']);

    // POST /restart: the engine re-imports in place (what ctl.mjs restart does).
    const restarted = await ctl('restart', '--port', String(h.port));
    expect(restarted.code).toBe(0);
    const after = await h.json<Workflows>('/workflows');
    expect(blobs(after)).toEqual({ 'orders.json': v2, 'new.json': hashObject('new.json') });
    expect(after.pending).toEqual([]);

    // SIGHUP does the same, and a real process restart loads the folder too.
    await put('orders.json', workflow('v3'));
    await new Promise((r) => setTimeout(r, 400));
    expect((await h.json<Workflows>('/workflows')).files.find((f) => f.path === 'orders.json')!.name).toBe(
      'v2',
    );
    h.child.kill('SIGHUP');
    await waitFor(async () => (await h.json<Workflows>('/workflows')).files[1]!.name === 'v3');
    await put('orders.json', workflow('v4'));
    await h.restart();
    expect((await h.json<Workflows>('/workflows')).files[1]!.name).toBe('v4');
  });

  it('ignores half-written and malformed files, and keeps running the version it loaded', async () => {
    await put('orders.json', workflow('Orders'));
    const h = await host('automatic');
    const good = hashObject('orders.json');

    // A half-written file: written in place, slowly.
    const handle = await fs.open(path.join(dir, 'slow.json'), 'w');
    const text = workflow('Slow');
    await handle.write(text.slice(0, 10));
    await handle.sync();
    const w1 = await waitFor(async () => {
      const w = await h.json<Workflows>('/workflows');
      return w.ignored.length === 1 ? w : null;
    });
    expect(w1.ignored[0]).toMatchObject({
      path: 'slow.json',
      reason: expect.stringMatching(/^not complete JSON/),
    });
    expect(w1.files.map((f) => f.path)).toEqual(['orders.json']);
    expect((await h.request('/health')).status).toBe(200);
    await handle.write(text.slice(10));
    await handle.close();
    await waitFor(async () => (await h.json<Workflows>('/workflows')).files.length === 2);
    expect((await h.json<Workflows>('/workflows')).ignored).toEqual([]);

    // Well-formed JSON that is not a workflow, and a loaded file overwritten with garbage.
    await put('notes.json', '{"hello": "world"}');
    await fs.writeFile(path.join(dir, 'orders.json'), '{"name": "Orders", "steps": [');
    const w2 = await waitFor(async () => {
      const w = await h.json<Workflows>('/workflows');
      return w.ignored.length === 2 ? w : null;
    });
    expect(w2.ignored.map((i) => [i.path, i.reason])).toEqual([
      ['notes.json', 'no "name" string'],
      ['orders.json', expect.stringMatching(/^not complete JSON/)],
    ]);
    expect(blobs(w2)['orders.json']).toBe(good);
    expect(w2.files.map((f) => f.path)).toEqual(['orders.json', 'slow.json']);
    expect(h.output()).toContain('(still running the version loaded before)');
  });

  it('answers /health 503 while a loaded workflow is invalid', async () => {
    await put('a.json', workflow('A'));
    const h = await host('automatic');
    let health = await h.request('/health');
    expect(health).toEqual({ status: 200, body: 'ok\nrelease: none\nworkflows: 1\n' });

    await put('b.json', workflow('B', [{ type: 'receive' }, { type: 'explode' }]));
    await put('c.json', workflow('C', [], { valid: false }));
    health = await waitFor(async () => {
      const r = await h.request('/health');
      return r.status === 503 && r.body.includes('workflows: 3') ? r : null;
    });
    expect(health.body).toBe(
      'invalid\nb.json: step 2 has unknown type "explode"\nc.json: marked "valid": false\nrelease: none\nworkflows: 3\n',
    );
    const w = await h.json<Workflows>('/workflows');
    expect(w.files.map((f) => f.valid)).toEqual([true, false, false]);
    expect((await ctl('health', '--port', String(h.port))).code).toBe(1);

    await put('b.json', workflow('B'));
    await fs.rm(path.join(dir, 'c.json'));
    await waitFor(async () => (await h.request('/health')).status === 200);
    expect((await ctl('health', '--port', String(h.port))).code).toBe(0);
  });

  it('reports the release diffship recorded, once it has imported it', async () => {
    await fs.mkdir(path.join(dir, '.diffship', 'staging'), { recursive: true });
    // Files in dot folders (diffship's state, staging, backups) are never workflows.
    await fs.writeFile(path.join(dir, '.diffship', 'staging', 'x.json'), workflow('staged'));
    await put('.diffship/state.json', JSON.stringify({ release: 'a'.repeat(40) }));
    await put('a.json', workflow('A'));
    const auto = await host('automatic');
    expect((await auto.json<Workflows>('/workflows')).release).toBe('a'.repeat(40));
    expect((await auto.json<Workflows>('/workflows')).files.map((f) => f.path)).toEqual(['a.json']);
    expect((await auto.request('/health')).body).toContain(`release: ${'a'.repeat(40)}`);

    const manual = await host('on-restart');
    await put('.diffship/state.json', JSON.stringify({ release: 'b'.repeat(40) }));
    await waitFor(async () => (await auto.json<Workflows>('/workflows')).release === 'b'.repeat(40));
    expect((await manual.json<Workflows>('/workflows')).release).toBe('a'.repeat(40));
    await manual.reload();
    expect((await manual.json<Workflows>('/workflows')).release).toBe('b'.repeat(40));
  });

  it('has an in-service switch for before/after hooks', async () => {
    const h = await host('automatic');
    expect(await h.request('/in-service')).toEqual({ status: 200, body: 'in service\n' });
    const drained = await ctl('drain', '--port', String(h.port));
    expect(drained.code).toBe(0);
    expect(JSON.parse(drained.stdout)).toMatchObject({ inService: false });
    expect(await h.request('/in-service')).toEqual({ status: 503, body: 'draining\n' });
    expect((await ctl('in-service', '--port', String(h.port))).code).toBe(1);
    // Health is about workflows, not traffic.
    expect((await h.request('/health')).status).toBe(200);
    expect((await ctl('enable', '--port', String(h.port))).code).toBe(0);
    expect((await h.json<{ inService: boolean }>('/status')).inService).toBe(true);
    expect(h.output()).toContain('drained: out of service');
    expect(h.output()).toContain('enabled: back in service');
  });

  it('writes its pid and port to a state file, and removes it on exit', async () => {
    const stateFile = path.join(root, 'host.json');
    const h = await host('automatic', [], stateFile);
    const state = JSON.parse(await fs.readFile(stateFile, 'utf8')) as { pid: number; port: number };
    expect(state).toMatchObject({ pid: h.child.pid, port: h.port, importMode: 'automatic' });
    expect((await ctl('status', '--state-file', stateFile)).code).toBe(0);
    await h.stop();
    await expect(fs.access(stateFile)).rejects.toThrow();
  });

  it('with --ignore-older skips an arriving file older than the loaded one, as some engines do', async () => {
    await put('a.json', workflow('new'));
    const h = await host('automatic', ['--ignore-older']);
    const old = new Date(Date.now() - 3_600_000);
    await fs.writeFile(path.join(dir, '.a.tmp'), workflow('restored from an old backup'));
    await fs.utimes(path.join(dir, '.a.tmp'), old, old);
    await fs.rename(path.join(dir, '.a.tmp'), path.join(dir, 'a.json'));
    const w = await waitFor(async () => {
      const w = await h.json<Workflows>('/workflows');
      return w.ignored.length === 1 ? w : null;
    });
    expect(w.ignored[0]!.reason).toBe('not newer than the loaded version');
    expect(w.files[0]!.name).toBe('new');
    await fs.utimes(path.join(dir, 'a.json'), new Date(), new Date());
    await waitFor(
      async () => (await h.json<Workflows>('/workflows')).files[0]!.name === 'restored from an old backup',
    );
  });

  it('answers 503 restarting during a slow restart', async () => {
    await put('a.json', workflow('A'));
    const h = await host('on-restart', ['--restart-delay', '600']);
    const restart = h.reload();
    await waitFor(async () => (await h.request('/health')).status === 503);
    expect((await h.request('/health')).body).toMatch(/^restarting\n/);
    await restart;
    expect((await h.request('/health')).status).toBe(200);
  });

  it('exits 1 when its port is taken, and startHost says so at once', async () => {
    const h = await host('automatic');
    const started = Date.now();
    await expect(startHost({ dir, port: h.port })).rejects.toThrow(
      /host exited with code 1:[\s\S]*cannot listen/,
    );
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('refuses bad usage', async () => {
    const r = await exec(process.execPath, [
      path.join(path.dirname(CTL), 'server.mjs'),
      '--dir',
      dir,
      '--import',
      'x',
    ]).catch((e: { code: number; stderr: string }) => e);
    expect(r).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('--import must be automatic or on-restart'),
    });
    expect((await ctl('explode', '--port', '1')).code).toBe(2);
  });
});
