/**
 * The local spawn helper (src/transport/local/spawner.ts): shells are forked by
 * one perl process, not by Node, many at once, and the helper holds none of
 * diffship's environment. The runLocal contract itself (output, exit codes,
 * timeouts, process groups) is run-local.test.ts's, which runs through it.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { describe, expect, it } from 'vitest';
import { runLocal } from '../../../src/transport/local/run-local.js';

const comm = (pid: number) => readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
const environ = (pid: number) => readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter(Boolean);

describe('spawnShell through the perl helper', () => {
  it('forks the shell from one perl process, not from Node', async () => {
    const runs = await Promise.all(
      Array.from({ length: 3 }, () => runLocal('echo $PPID', { cwd: os.tmpdir() })),
    );
    const parents = runs.map((r) => Number(r.stdout.trim()));
    expect(new Set(parents).size).toBe(1);
    expect(parents[0]).not.toBe(process.pid);
    expect(comm(parents[0]!)).toBe('perl');
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
});
