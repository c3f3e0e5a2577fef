import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DiffshipError } from '../../../src/errors.js';
import { LocalTransport } from '../../../src/transport/local/local-transport.js';
import { OUTPUT_CAP } from '../../../src/transport/command-limits.js';
import { runLocal } from '../../../src/transport/local/run-local.js';
import { PROMPTLY_MS } from '../../helpers/timing.js';

let dir: string;
beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'diffship-cmd-'));
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

/** A process is gone when it no longer exists or is a zombie waiting to be reaped. */
async function gone(pid: number): Promise<boolean> {
  try {
    const stat = await fs.readFile(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

async function pidIn(file: string): Promise<number> {
  const pid = Number((await fs.readFile(file, 'utf8')).trim());
  expect(pid).toBeGreaterThan(0);
  return pid;
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // gone already
  }
}

const MARKER = '[… earlier output dropped]\n';

describe('runLocal', () => {
  it('captures stdout, stderr and the exit code, in cwd, with env added', async () => {
    const r = await runLocal('echo "out $FOO"; pwd; echo err >&2; exit 3', {
      cwd: dir,
      env: { FOO: 'bar' },
    });
    expect(r.code).toBe(3);
    expect(r.stdout).toBe(`out bar\n${await fs.realpath(dir)}\n`);
    expect(r.stderr).toBe('err\n');
    expect(r.timedOut).toBe(false);
    expect(r.aborted).toBe(false);
    // The parent environment is still there (PATH found `echo`'s friends).
    const p = await runLocal('echo "$PATH"', { cwd: dir });
    expect(p.stdout.trim()).toBe(process.env.PATH);
  });

  it('closes stdin', async () => {
    const r = await runLocal('cat; echo done', { cwd: dir, timeoutMs: 5000 });
    expect(r.stdout).toBe('done\n');
    expect(r.timedOut).toBe(false);
  });

  it('kills the whole process group on timeout', async () => {
    const started = Date.now();
    const r = await runLocal('sleep 30 & echo $!; sleep 30; echo never', { cwd: dir, timeoutMs: 300 });
    expect(Date.now() - started).toBeLessThan(PROMPTLY_MS);
    expect(r.timedOut).toBe(true);
    expect(r.code).toBeNull();
    expect(r.signal).toBe('SIGTERM');
    expect(r.stdout).not.toContain('never');
    const pid = Number(r.stdout.trim());
    expect(pid).toBeGreaterThan(0);
    expect(await gone(pid)).toBe(true);
  });

  it('SIGKILLs children that ignore SIGTERM after the grace period', async () => {
    const r = await runLocal(`sh -c 'trap "" TERM; echo $$; sleep 30' & wait`, {
      cwd: dir,
      timeoutMs: 200,
      killGraceMs: 500,
    });
    expect(r.timedOut).toBe(true);
    const pid = Number(r.stdout.trim());
    expect(pid).toBeGreaterThan(0);
    expect(await gone(pid)).toBe(true);
  });

  it('stops promptly when the signal aborts', async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 200);
    const started = Date.now();
    const r = await runLocal('sleep 30', { cwd: dir, signal: ac.signal });
    expect(Date.now() - started).toBeLessThan(PROMPTLY_MS);
    expect(r.aborted).toBe(true);
    expect(r.timedOut).toBe(false);
    expect(r.code).toBeNull();
  });

  it('does not start when already aborted', async () => {
    const marker = path.join(dir, 'started');
    const r = await runLocal(`touch ${marker}`, { cwd: dir, signal: AbortSignal.abort() });
    expect(r.aborted).toBe(true);
    await expect(fs.access(marker)).rejects.toThrow();
  });

  it('does not wait for background children that keep the pipes open', async () => {
    // The child would hold the pipes for 30 s: returning well before that is the point.
    const started = Date.now();
    const r = await runLocal('sleep 30 & echo $!; echo started', { cwd: dir, timeoutMs: 60_000 });
    const pid = Number(r.stdout.split('\n')[0]);
    try {
      expect(Date.now() - started).toBeLessThan(PROMPTLY_MS);
      expect(r.code).toBe(0);
      expect(r.stdout.endsWith('started\n')).toBe(true);
    } finally {
      if (pid > 0) process.kill(pid, 'SIGKILL');
    }
  });

  it('keeps only the tail of large output', async () => {
    const r = await runLocal('seq 1 100000', { cwd: dir, maxOutputBytes: 1000 });
    expect(r.code).toBe(0);
    expect(r.stdout.startsWith('[… earlier output dropped]\n')).toBe(true);
    expect(r.stdout.endsWith('99999\n100000\n')).toBe(true);
    expect(r.stdout.length).toBeLessThan(1100);
  });

  it('reports a command that cannot start instead of throwing', async () => {
    const r = await runLocal('true', { cwd: path.join(dir, 'missing') });
    expect(r.code).toBeNull();
    expect(r.error).toMatch(/ENOENT/);
  });

  it('keeps the last OUTPUT_CAP bytes of each stream by default', async () => {
    // 3 MiB on each stream, then a last line: only the end survives, within the cap.
    const r = await runLocal(
      "head -c 3145728 /dev/zero | tr '\\0' a; echo END; head -c 3145728 /dev/zero | tr '\\0' b >&2; echo ERR >&2",
      { cwd: dir },
    );
    expect(r.code).toBe(0);
    for (const [text, last] of [
      [r.stdout, 'aEND\n'],
      [r.stderr, 'bERR\n'],
    ] as const) {
      expect(text.startsWith(MARKER)).toBe(true);
      expect(text.endsWith(last)).toBe(true);
      expect(Buffer.byteLength(text) - Buffer.byteLength(MARKER)).toBe(OUTPUT_CAP);
    }
  });

  it('never starts the kept tail inside a UTF-8 character', async () => {
    // 2-byte characters and an odd cap: the cut falls inside one.
    const r = await runLocal(`for i in $(seq 1 500); do printf 'é'; done`, { cwd: dir, maxOutputBytes: 101 });
    const body = r.stdout.slice(MARKER.length);
    expect(r.stdout.startsWith(MARKER)).toBe(true);
    expect(body).not.toContain('\uFFFD');
    expect(body).toBe('é'.repeat(50));
  });

  it('cancellation also waits for the whole group, SIGKILLing what ignores SIGTERM', async () => {
    const inner = path.join(dir, 'abort-inner');
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 300);
    const r = await runLocal(`sh -c 'trap "" TERM; echo $$ > ${inner}; exec sleep 30' & wait`, {
      cwd: dir,
      signal: ac.signal,
      killGraceMs: 500,
    });
    expect(r.aborted).toBe(true);
    expect(await gone(await pidIn(inner))).toBe(true);
  });

  it('leaves alone what the command started in the background once it has exited', async () => {
    // The shell exits at once; the timeout and the abort come while we wait for the
    // pipes the daemon holds. The command finished in time: its daemon must survive.
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 170);
    const r = await runLocal('sleep 30 & echo $!', { cwd: dir, timeoutMs: 150, signal: ac.signal });
    const pid = Number(r.stdout.trim());
    try {
      expect(r.code).toBe(0);
      expect(r.timedOut).toBe(false);
      expect(r.aborted).toBe(false);
      expect(pid).toBeGreaterThan(0);
      expect(await gone(pid)).toBe(false);
    } finally {
      killQuietly(pid);
    }
  });
});

// The local transport runs `remote:` commands with the same runner: the same
// output, timeouts and group handling, with the Transport contract's errors.
describe('LocalTransport.exec', () => {
  let root: string;
  let t: LocalTransport;
  beforeAll(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'diffship-exec-'));
    t = new LocalTransport(root);
    await t.connect();
  });
  afterAll(async () => {
    await t.close();
    await fs.rm(root, { recursive: true, force: true });
  });

  it('keeps the tail of large output, where the errors are', async () => {
    const r = await t.exec('seq 1 300000; echo failed >&2; exit 1');
    expect(r.code).toBe(1);
    expect(r.stdout.startsWith(MARKER)).toBe(true);
    expect(r.stdout.endsWith('299999\n300000\n')).toBe(true);
    expect(Buffer.byteLength(r.stdout)).toBeLessThanOrEqual(OUTPUT_CAP + Buffer.byteLength(MARKER));
    expect(r.stderr).toBe('failed\n');
  });

  it('on timeout, SIGKILLs group members that ignore SIGTERM', async () => {
    const r = await t.exec(`sh -c 'trap "" TERM; echo $$ > inner; exec sleep 30' & wait`, { timeoutMs: 300 });
    expect(r.timedOut).toBe(true);
    expect(await gone(await pidIn(path.join(root, 'inner')))).toBe(true);
  });

  it('rejects with E_CANCELLED once the whole group is gone', async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 300);
    const error = (await t.exec('sleep 30 & echo $! > child; wait', { signal: ac.signal }).then(
      () => null,
      (e: unknown) => e,
    )) as DiffshipError | null;
    expect(error?.code).toBe('E_CANCELLED');
    expect(await gone(await pidIn(path.join(root, 'child')))).toBe(true);
  });

  it('returns while a background child holds the pipes, and leaves that child running', async () => {
    const started = Date.now();
    const r = await t.exec('sleep 30 & echo $!; echo started');
    const pid = Number(r.stdout.split('\n')[0]);
    try {
      expect(Date.now() - started).toBeLessThan(PROMPTLY_MS);
      expect(r.code).toBe(0);
      expect(r.stdout.endsWith('started\n')).toBe(true);
      expect(await gone(pid)).toBe(false);
    } finally {
      killQuietly(pid);
    }
  });

  it('rejects with E_TRANSPORT when the command cannot start', async () => {
    const other = await fs.mkdtemp(path.join(os.tmpdir(), 'diffship-exec-gone-'));
    const transport = new LocalTransport(other);
    await transport.connect();
    await fs.rm(other, { recursive: true });
    const error = (await transport.exec('true').then(
      () => null,
      (e: unknown) => e,
    )) as DiffshipError | null;
    expect(error?.code).toBe('E_TRANSPORT');
    expect(error?.message).toMatch(/^cannot run a command in .*ENOENT/);
    await transport.close();
  });
});
