/**
 * The local spawn helper (src/transport/local/spawner.ts): shells are started by
 * one helper process (the system's Python, else perl), not by Node, many at once,
 * and the helper holds none of diffship's environment. The runLocal contract itself (output, exit codes,
 * timeouts, process groups) is run-local.test.ts's, which runs through it.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { describe, expect, it } from 'vitest';
import { runLocal } from '../../../src/transport/local/run-local.js';

const comm = (pid: number) => readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
/** Running (not a zombie waiting to be reaped). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return false;
  }
}
/** The helper is the system's Python where there is one (posix_spawn), else perl (fork). */
const HELPER = existsSync('/usr/bin/python3') ? 'python3' : 'perl';
const environ = (pid: number) => readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter(Boolean);

describe('spawnShell through the spawn helper', () => {
  it('starts the shell from one helper process, not from Node', async () => {
    const runs = await Promise.all(
      Array.from({ length: 3 }, () => runLocal('echo $PPID', { cwd: os.tmpdir() })),
    );
    const parents = runs.map((r) => Number(r.stdout.trim()));
    expect(new Set(parents).size).toBe(1);
    expect(parents[0]).not.toBe(process.pid);
    expect(comm(parents[0]!)).toBe(HELPER);
  });

  it('keeps diffship environment out of the helper; each command gets exactly its own', async () => {
    process.env.DIFFSHIP_TEST_SECRET = 'hunter2-secret';
    try {
      const r = await runLocal('echo "$PPID $HOOK_ONLY ${DIFFSHIP_TEST_SECRET:-unset}"', {
        cwd: os.tmpdir(),
        env: { HOOK_ONLY: 'yes' },
      });
      const [ppid, hookOnly, secret] = r.stdout.trim().split(' ');
      expect(hookOnly).toBe('yes');
      expect(secret).toBe('unset'); // DIFFSHIP_* of the caller never reach a command
      const helperEnv = environ(Number(ppid));
      expect(helperEnv.some((e) => e.includes('hunter2'))).toBe(false);
      expect(helperEnv.map((e) => e.split('=')[0]).sort()).toEqual(['LC_ALL', 'PATH']);
    } finally {
      delete process.env.DIFFSHIP_TEST_SECRET;
    }
  });

  it('runs a hundred commands at once, each with its own output and exit code', async () => {
    const runs = await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        runLocal(`echo out-${i}; echo err-${i} >&2; exit ${i % 7}`, { cwd: os.tmpdir() }),
      ),
    );
    runs.forEach((r, i) => {
      expect(r.stdout).toBe(`out-${i}\n`);
      expect(r.stderr).toBe(`err-${i}\n`);
      expect(r.code).toBe(i % 7);
    });
  });

  it('a shared environment (a rollout’s, filtered once) goes to the helper once; each command’s own goes over it', async () => {
    const filtered: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin', SHARED: 'base' };
    for (let i = 0; i < 40; i++) filtered[`BULK_${i}`] = 'x'.repeat(250); // ~10 KB, as a CI runner's
    const policy = { secrets: [], pass: [], filtered };
    const ppid = Number((await runLocal('echo $PPID', { cwd: os.tmpdir() })).stdout.trim());
    // Bytes read by the helper (its commands, on its stdin) and by the shells it reaped.
    const readBy = () => Number(/^rchar: (\d+)$/m.exec(readFileSync(`/proc/${ppid}/io`, 'utf8'))![1]);
    const thirty = async (options: (i: number) => Parameters<typeof runLocal>[1]) => {
      const before = readBy();
      const runs = await Promise.all(
        Array.from({ length: 30 }, (_, i) => runLocal('echo "$SHARED $OWN ${#BULK_7}"', options(i))),
      );
      return { runs, bytes: readBy() - before };
    };
    const shared = await thirty((i) => ({
      cwd: os.tmpdir(),
      env: { OWN: `own-${i}`, ...(i === 0 ? { SHARED: 'mine' } : {}) },
      envPolicy: policy,
    }));
    shared.runs.forEach((r, i) => expect(r.stdout).toBe(`${i === 0 ? 'mine' : 'base'} own-${i} 250\n`));
    // The same environment given whole to each command (no shared policy): it travels 30 times.
    const whole = await thirty((i) => ({ cwd: os.tmpdir(), env: { ...filtered, OWN: `own-${i}` } }));
    whole.runs.forEach((r, i) => expect(r.stdout).toBe(`base own-${i} 250\n`));
    expect(shared.bytes).toBeLessThan(whole.bytes / 3);
  });

  it('the helper holds one shared environment at a time: each command still gets exactly its own', async () => {
    const PATH = process.env.PATH ?? '/usr/bin:/bin';
    type Policy = NonNullable<Parameters<typeof runLocal>[1]['envPolicy']>;
    const first: Policy = { secrets: [], pass: [], filtered: { PATH, ONLY_FIRST: 'one', BOTH: 'first' } };
    const second: Policy = { secrets: [], pass: [], filtered: { PATH, BOTH: 'second' } };
    const show = 'echo "${ONLY_FIRST:-unset} ${BOTH:-unset} ${OWN:-unset}"; env | sort | tr "\\n" " "';
    const run = (envPolicy: Policy | undefined, env: Record<string, string>) =>
      runLocal(show, { cwd: os.tmpdir(), env, envPolicy }).then((r) => r.stdout.split('\n'));
    // Interleaved, at once and one after another: the helper switches its environment between them.
    const together = await Promise.all([
      run(first, { OWN: 'a' }),
      run(second, { OWN: 'b' }),
      run(undefined, { PATH, OWN: 'c' }),
      run(first, {}),
    ]);
    const after = [await run(second, {}), await run(undefined, { PATH }), await run(first, { BOTH: 'mine' })];
    expect([...together, ...after].map((lines) => lines[0])).toEqual([
      'one first a',
      'unset second b',
      'unset unset c',
      'one first unset',
      'unset second unset',
      'unset unset unset',
      'one mine unset',
    ]);
    // Nothing else (the helper's own LC_ALL, the other shared environment's names) reaches a command.
    const names = (lines: string[]) =>
      lines[1]!
        .trim()
        .split(' ')
        .map((e) => e.split('=')[0])
        .filter((n) => !['PWD', 'SHLVL', '_', 'OLDPWD'].includes(n!));
    expect(names(together[1]!)).toEqual(['BOTH', 'OWN', 'PATH']);
    expect(names(after[0]!)).toEqual(['BOTH', 'PATH']);
  });

  it('a short command costs one write of the helper: its pid, ends and exit together', async () => {
    const ppid = Number((await runLocal('echo $PPID', { cwd: os.tmpdir() })).stdout.trim());
    // Write calls of the helper (and of the shells it reaped, which write nothing here).
    const writes = () => Number(/^syscw: (\d+)$/m.exec(readFileSync(`/proc/${ppid}/io`, 'utf8'))![1]);
    const before = writes();
    let slow = 0;
    for (let i = 0; i < 20; i++) {
      const started = performance.now();
      expect((await runLocal(`exit ${i}`, { cwd: os.tmpdir() })).code).toBe(i);
      if (performance.now() - started > 10) slow++;
    }
    // Before: P at once, then E, E and X as they came: 2–4 writes a command, each waking Node.
    // Now one, or two for a shell that took over 10 ms (its pid goes out alone then): a loaded
    // machine makes more of those, and a command whose shell took that long took longer here.
    // Python's SIGCHLD handler writes one byte to its own wakeup pipe per exit: not to Node.
    expect(writes() - before - (HELPER === 'python3' ? 20 : 0)).toBeLessThanOrEqual(20 + slow);
  });

  // Last: it ends this worker's helper.
  it('a helper that dies fails the commands in flight, ends them, and later ones start through Node', async () => {
    const first = await runLocal('echo $PPID', { cwd: os.tmpdir() });
    const helperPid = Number(first.stdout.trim());
    expect(comm(helperPid)).toBe(HELPER);
    const pidFile = path.join(os.tmpdir(), `diffship-spawner-${process.pid}.pid`);
    const running = runLocal(`sleep 30 & echo $! > "${pidFile}"; wait`, { cwd: os.tmpdir() });
    await new Promise((r) => setTimeout(r, 300));
    process.kill(helperPid, 'SIGKILL');
    const r = await running;
    expect(r.error).toMatch(/spawn helper ended/);
    const sleeper = Number(readFileSync(pidFile, 'utf8').trim());
    rmSync(pidFile);
    await new Promise((r) => setTimeout(r, 200));
    expect(alive(sleeper)).toBe(false);
    const after = await runLocal('echo $PPID', { cwd: os.tmpdir() });
    expect(after.code).toBe(0);
    expect(Number(after.stdout.trim())).toBe(process.pid);
  });
});
