import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HookSpec } from '../../src/config/types.js';
import type { Logger } from '../../src/log.js';
import { trimOutput } from '../../src/rollout/command.js';
import { formatDuration } from '../../src/report/format.js';
import { hookEnv, runHook } from '../../src/rollout/hooks.js';
import { LocalTransport } from '../../src/transport/local/local-transport.js';
import { folderExec } from '../helpers/host.js';
import { PROMPTLY_MS } from '../helpers/timing.js';

let root: string;
let configDir: string;
let targetDir: string;
const env = hookEnv({
  target: 'soup-a',
  host: 'soup-a.internal',
  path: '/opt/soup/workflows',
  release: 'b'.repeat(40),
  previousRelease: null,
  deployId: 'deploy-123',
  changesFile: '/tmp/changes-soup-a.json',
});
const hook = (h: Partial<HookSpec>): HookSpec => ({ timeoutMs: 10_000, settleMs: 0, ...h });

beforeAll(async () => {
  root = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'diffship-hooks-')));
  configDir = path.join(root, 'config');
  targetDir = path.join(root, 'target');
  await fs.mkdir(configDir);
  await fs.mkdir(targetDir);
});
afterAll(async () => {
  await fs.rm(root, { recursive: true, force: true });
});

function parseEnv(text: string): Record<string, string> {
  return Object.fromEntries(
    text
      .trim()
      .split('\n')
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );
}

describe('runHook', () => {
  it('gives run and remote exactly this deploy’s DIFFSHIP_ variables (none of the caller’s), in their own folders', async () => {
    // Stray variables of whoever started diffship (a crash test's, a parent deploy's) stay out.
    const stray = { DIFFSHIP_STRAY_FROM_CALLER: 'x', DIFFSHIP_RELEASE: 'stale' };
    const saved = Object.fromEntries(Object.keys(stray).map((k) => [k, process.env[k]]));
    Object.assign(process.env, stray);
    const r = await runHook(hook({}), {
      name: 'before',
      run: 'env | grep ^DIFFSHIP_ | sort > run.env; pwd > run.pwd',
      remote: 'env | grep ^DIFFSHIP_ | sort > remote.env; pwd > remote.pwd',
      cwd: configDir,
      env,
      transport: folderExec(targetDir),
    }).finally(() => {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    });
    expect(r).toMatchObject({ ok: true, timedOut: false, cancelled: false });
    const expected = {
      DIFFSHIP_CHANGES: '/tmp/changes-soup-a.json',
      DIFFSHIP_DEPLOY_ID: 'deploy-123',
      DIFFSHIP_HOST: 'soup-a.internal',
      DIFFSHIP_PATH: '/opt/soup/workflows',
      DIFFSHIP_PREVIOUS_RELEASE: '',
      DIFFSHIP_RELEASE: 'b'.repeat(40),
      DIFFSHIP_TARGET: 'soup-a',
    };
    expect(parseEnv(await fs.readFile(path.join(configDir, 'run.env'), 'utf8'))).toEqual(expected);
    expect(parseEnv(await fs.readFile(path.join(targetDir, 'remote.env'), 'utf8'))).toEqual(expected);
    expect((await fs.readFile(path.join(configDir, 'run.pwd'), 'utf8')).trim()).toBe(configDir);
    expect((await fs.readFile(path.join(targetDir, 'remote.pwd'), 'utf8')).trim()).toBe(targetDir);
  });

  it('runs remote commands through the real local transport, and is cancelled through it', async () => {
    const transport = new LocalTransport(targetDir);
    await transport.connect();
    const r = await runHook(hook({ remote: 'echo "$DIFFSHIP_RELEASE" > release.txt; pwd' }), {
      cwd: configDir,
      env,
      transport,
    });
    expect(r).toMatchObject({ ok: true, detail: targetDir });
    expect(await fs.readFile(path.join(targetDir, 'release.txt'), 'utf8')).toBe(`${'b'.repeat(40)}\n`);

    const slow = await runHook(hook({ remote: 'sleep 30', timeoutMs: 300 }), {
      cwd: configDir,
      env,
      transport,
    });
    expect(slow).toMatchObject({ ok: false, timedOut: true, detail: 'timed out after 300ms' });

    const ac = new AbortController();
    setTimeout(() => ac.abort(), 150);
    const started = Date.now();
    const cancelled = await runHook(hook({ remote: 'sleep 30' }), {
      cwd: configDir,
      env,
      transport,
      signal: ac.signal,
    });
    expect(Date.now() - started).toBeLessThan(PROMPTLY_MS);
    expect(cancelled).toMatchObject({ ok: false, cancelled: true, detail: 'cancelled' });
    await transport.close();
  });

  it('uses the spec commands when the context gives none', async () => {
    const r = await runHook(hook({ run: 'echo "$DIFFSHIP_TARGET from spec"' }), { cwd: configDir, env });
    expect(r.ok).toBe(true);
    expect(r.detail).toBe('soup-a from spec');
  });

  it('fails with the reason first and the output tail after it, and skips remote', async () => {
    const marker = path.join(targetDir, 'remote-ran');
    const r = await runHook(hook({}), {
      run: 'for i in $(seq 1 50); do echo line $i; done; echo boom >&2; exit 4',
      remote: `touch ${marker}`,
      cwd: configDir,
      env,
      transport: folderExec(targetDir),
    });
    expect(r.ok).toBe(false);
    const lines = r.detail.split('\n');
    expect(lines[0]).toBe('run exited with code 4');
    expect(lines[1]).toBe('…');
    expect(lines.at(-1)).toBe('boom');
    expect(lines.at(-2)).toBe('line 50');
    expect(lines.length).toBeLessThanOrEqual(22);
    await expect(fs.access(marker)).rejects.toThrow();
  });

  it('reports a failing remote command', async () => {
    const r = await runHook(hook({ remote: 'echo nope; exit 2' }), {
      cwd: configDir,
      env,
      transport: folderExec(targetDir),
    });
    expect(r).toMatchObject({ ok: false, detail: 'remote exited with code 2\nnope' });
  });

  it('times out, kills the command and says after how long', async () => {
    const started = Date.now();
    const r = await runHook(hook({ run: 'echo waiting; sleep 30', timeoutMs: 400 }), { cwd: configDir, env });
    expect(Date.now() - started).toBeLessThan(PROMPTLY_MS);
    expect(r.ok).toBe(false);
    expect(r.timedOut).toBe(true);
    expect(r.detail).toBe('timed out after 400ms\nwaiting');
  });

  it('shares one timeout between run and remote', async () => {
    const started = Date.now();
    const r = await runHook(hook({ run: 'sleep 0.3', remote: 'sleep 30', timeoutMs: 600 }), {
      cwd: configDir,
      env,
      transport: folderExec(targetDir),
    });
    expect(Date.now() - started).toBeLessThan(PROMPTLY_MS);
    expect(r).toMatchObject({ ok: false, timedOut: true, detail: 'timed out after 600ms' });
  });

  it('waits settle after the command', async () => {
    const r = await runHook(hook({ run: 'true', settleMs: 300 }), { cwd: configDir, env });
    expect(r.ok).toBe(true);
    expect(r.durationMs).toBeGreaterThanOrEqual(290);
    const alone = await runHook(hook({ settleMs: 200 }), { cwd: configDir, env });
    expect(alone).toMatchObject({ ok: true, detail: 'settled 200ms' });
    expect(alone.durationMs).toBeGreaterThanOrEqual(190);
  });

  it('is cancelled promptly while running and while settling', async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 200);
    let started = Date.now();
    const running = await runHook(hook({ run: 'sleep 30' }), { cwd: configDir, env, signal: ac.signal });
    expect(Date.now() - started).toBeLessThan(PROMPTLY_MS);
    expect(running).toMatchObject({ ok: false, cancelled: true, detail: 'cancelled' });

    const ac2 = new AbortController();
    setTimeout(() => ac2.abort(), 200);
    started = Date.now();
    const settling = await runHook(hook({ settleMs: 30_000 }), { cwd: configDir, env, signal: ac2.signal });
    expect(Date.now() - started).toBeLessThan(PROMPTLY_MS);
    expect(settling).toMatchObject({ ok: false, cancelled: true, detail: 'cancelled while settling' });
  });

  it('turns a transport error into a failed hook', async () => {
    const broken = {
      exec: () => Promise.reject(new Error('connection lost')),
    };
    const r = await runHook(hook({ remote: 'true' }), { cwd: configDir, env, transport: broken });
    expect(r).toMatchObject({ ok: false, detail: 'remote failed: connection lost' });
  });

  it('throws for a remote hook without a transport (a programming error)', async () => {
    await expect(runHook(hook({ remote: 'true' }), { cwd: configDir, env })).rejects.toMatchObject({
      code: 'E_HOOK',
    });
  });

  it('logs what it runs through the logger', async () => {
    const lines: string[] = [];
    const logger: Logger = { debug: (m) => lines.push(m), info() {}, warn() {}, error() {} };
    await runHook(hook({ run: 'echo hello' }), { name: 'after', cwd: configDir, env, logger });
    expect(lines).toEqual(['hook after: run echo hello', 'hook after: hello']);
  });
});

describe('formatting', () => {
  it('writes durations the way the config does', () => {
    expect(formatDuration(5000)).toBe('5s');
    expect(formatDuration(500)).toBe('500ms');
    expect(formatDuration(1500)).toBe('1.5s');
    expect(formatDuration(60_000)).toBe('1m');
    expect(formatDuration(90_000)).toBe('1m30s');
  });

  it('trims output to the last lines and bytes without splitting a character', () => {
    expect(trimOutput('a\nb\nc\n\n', 2)).toBe('…\nb\nc');
    expect(trimOutput('short')).toBe('short');
    const out = trimOutput('é'.repeat(3000), 20, 2047);
    expect(out.startsWith('…\né')).toBe(true);
    expect(Buffer.byteLength(out.slice(2))).toBeLessThanOrEqual(2047);
  });
});
