import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CheckSpec } from '../../src/config/types.js';
import { runCheck } from '../../src/rollout/checks/index.js';
import { folderExec, freePort } from '../helpers/host.js';
import { PROMPTLY_MS } from '../helpers/timing.js';

let root: string;
let configDir: string;
let targetDir: string;
beforeAll(async () => {
  root = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'diffship-checks-')));
  configDir = path.join(root, 'config');
  targetDir = path.join(root, 'target');
  await fs.mkdir(configDir);
  await fs.mkdir(targetDir);
});
afterAll(async () => {
  await fs.rm(root, { recursive: true, force: true });
});

describe('tcp check', () => {
  it('waits for a port that opens late', async () => {
    const port = await freePort();
    const server = net.createServer((s) => s.end());
    const timer = setTimeout(() => server.listen(port, '127.0.0.1'), 1000);
    try {
      const messages: string[] = [];
      const started = Date.now();
      const check: CheckSpec = { kind: 'tcp', port, intervalMs: 200, timeoutMs: 5000 };
      const r = await runCheck(check, {
        host: '127.0.0.1',
        cwd: configDir,
        onAttempt: (_n, m) => messages.push(m),
      });
      expect(r.ok).toBe(true);
      expect(Date.now() - started).toBeGreaterThanOrEqual(950);
      expect(r.attempts).toBeGreaterThanOrEqual(5);
      expect(messages[0]).toBe(`tcp 127.0.0.1:${port} → connection refused`);
      expect(messages.at(-1)).toBe(`tcp 127.0.0.1:${port} → open`);
      expect(r.detail).toBe(`tcp 127.0.0.1:${port} → open (${r.attempts} attempts)`);
    } finally {
      clearTimeout(timer);
      server.close();
    }
  });

  it('uses its own host over the target host, and fails with the reason', async () => {
    const port = await freePort();
    const r = await runCheck(
      { kind: 'tcp', host: '127.0.0.1', port, intervalMs: 100, timeoutMs: 250 },
      { host: 'no-such-host.invalid', cwd: configDir },
    );
    expect(r.ok).toBe(false);
    expect(r.detail.split('\n')[0]).toBe(`tcp 127.0.0.1:${port} → connection refused`);
    expect(r.detail.split('\n')[1]).toMatch(/^\d attempts, gave up after 250ms$/);
  });

  it('reports an unknown host', async () => {
    const r = await runCheck(
      { kind: 'tcp', port: 80, intervalMs: 100, timeoutMs: 0 },
      { host: 'no-such-host.invalid', cwd: configDir },
    );
    expect(r.ok).toBe(false);
    expect(r.detail.split('\n')[0]).toBe('tcp no-such-host.invalid:80 → host not found');
  });

  it('is cancelled promptly', async () => {
    const port = await freePort();
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 150);
    const started = Date.now();
    const r = await runCheck(
      { kind: 'tcp', port, intervalMs: 1000, timeoutMs: 30_000 },
      { host: '127.0.0.1', cwd: configDir, signal: ac.signal },
    );
    expect(Date.now() - started).toBeLessThan(PROMPTLY_MS);
    expect(r).toMatchObject({ ok: false, cancelled: true });
  });
});

describe('command check', () => {
  const command = (c: Partial<Extract<CheckSpec, { kind: 'command' }>>): CheckSpec => ({
    kind: 'command',
    intervalMs: 100,
    timeoutMs: 3000,
    ...c,
  });

  it('passes on exit 0, running in the config folder with the env', async () => {
    const r = await runCheck(command({ run: 'test "$(pwd)" = "$WANT" && echo "healthy $DIFFSHIP_TARGET"' }), {
      host: 'h',
      cwd: configDir,
      env: { WANT: configDir, DIFFSHIP_TARGET: 'soup-a' },
    });
    expect(r).toMatchObject({
      ok: true,
      attempts: 1,
      detail: 'command (run) passed: healthy soup-a (1 attempt)',
    });
  });

  it('retries until the command passes', async () => {
    // Fails twice, then passes: a counter file in the config folder.
    const r = await runCheck(
      command({ run: 'n=$(cat count 2>/dev/null || echo 0); n=$((n+1)); echo $n > count; [ $n -ge 3 ]' }),
      { host: 'h', cwd: configDir },
    );
    expect(r).toMatchObject({ ok: true, attempts: 3 });
  });

  it('fails with the exit code, the last line and the output tail', async () => {
    const r = await runCheck(command({ run: 'echo first; echo "not ready" >&2; exit 3', timeoutMs: 250 }), {
      host: 'h',
      cwd: configDir,
    });
    expect(r.ok).toBe(false);
    const lines = r.detail.split('\n');
    expect(lines[0]).toBe('command (run) exited with code 3: not ready');
    expect(lines[1]).toMatch(/attempts, gave up after 250ms$/);
    expect(lines.slice(2)).toEqual(['first', 'not ready']);
  });

  it('kills a command that runs past the timeout', async () => {
    const started = Date.now();
    const r = await runCheck(command({ run: 'sleep 30', timeoutMs: 1200 }), { host: 'h', cwd: configDir });
    expect(Date.now() - started).toBeLessThan(PROMPTLY_MS);
    expect(r.ok).toBe(false);
    expect(r.detail.split('\n')[0]).toBe('command (run) timed out after 1.2s');
  });

  it('runs remote commands in the target folder through the transport', async () => {
    await fs.writeFile(path.join(targetDir, 'VERSION'), 'v2\n');
    const ctx = { host: 'h', cwd: configDir, transport: folderExec(targetDir), env: { WANT: 'v2' } };
    const ok = await runCheck(command({ remote: 'grep -qx "$WANT" VERSION' }), ctx);
    expect(ok).toMatchObject({ ok: true, attempts: 1 });
    const bad = await runCheck(command({ remote: 'grep -x v3 VERSION', timeoutMs: 0 }), ctx);
    expect(bad.ok).toBe(false);
    expect(bad.detail.split('\n')[0]).toBe('command (remote) exited with code 1');
  });

  it('throws when a remote command has no transport', () => {
    expect(() => runCheck(command({ remote: 'true' }), { host: 'h', cwd: configDir })).toThrow(
      /no transport/,
    );
  });

  it('is cancelled promptly while the command runs', async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 150);
    const started = Date.now();
    const r = await runCheck(command({ run: 'sleep 30', timeoutMs: 30_000 }), {
      host: 'h',
      cwd: configDir,
      signal: ac.signal,
    });
    expect(Date.now() - started).toBeLessThan(PROMPTLY_MS);
    expect(r).toMatchObject({ ok: false, cancelled: true, detail: 'cancelled' });
  });
});
