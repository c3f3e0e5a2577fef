import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runLocal } from '../../src/transport/local-exec.js';

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
    expect(Date.now() - started).toBeLessThan(1500);
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
    expect(Date.now() - started).toBeLessThan(1000);
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
    const started = Date.now();
    const r = await runLocal('sleep 3 & echo started', { cwd: dir, timeoutMs: 10_000 });
    expect(Date.now() - started).toBeLessThan(2000);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('started\n');
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
});
