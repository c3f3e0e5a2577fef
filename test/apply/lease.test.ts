/**
 * The lock's lease (src/apply/lock.ts) with a short lease on a real target
 * folder: it is renewed while the deploy's work goes on, so a second deploy
 * still finds the lock held long after the first lease would have run out;
 * renewals never overlap, so a slow one cannot write the lock back after the
 * holder released it; and renewing stops with the work.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { TargetSession } from '../../src/apply/session.js';
import type { LockInfo } from '../../src/apply/lock.js';
import { LocalTransport } from '../../src/transport/local/local-transport.js';
import type { Transport } from '../../src/transport/transport.js';
import { tempDir } from '../helpers/git.js';

const LEASE = { leaseMs: 600, renewMs: 100 };
const open: TargetSession[] = [];
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

afterEach(async () => {
  for (const s of open.splice(0)) await s.close().catch(() => undefined);
});

async function session(transport: Transport, deployId: string): Promise<TargetSession> {
  const s = await TargetSession.open({
    transport,
    stateDir: '.diffship',
    command: 'deploy',
    deployId,
    lease: LEASE,
  });
  open.push(s);
  return s;
}

/** A real LocalTransport whose first rename onto the lock file takes `delayMs` (a slow host). */
function slowFirstLockRename(
  root: string,
  delayMs: number,
): { transport: Transport; slowDone: () => boolean } {
  const real = new LocalTransport(root);
  let slowed = false;
  let finished = false;
  const transport = new Proxy(real, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target) as unknown;
      if (prop !== 'rename' || typeof value !== 'function') return value;
      return async (from: string, to: string) => {
        if (to.endsWith('lock.json') && !slowed) {
          slowed = true;
          await sleep(delayMs);
          await real.rename(from, to);
          finished = true;
          return;
        }
        return real.rename(from, to);
      };
    },
  });
  return { transport, slowDone: () => finished };
}

describe('lock lease', () => {
  it('is renewed while the work goes on: a second deploy still finds the lock held', async () => {
    const root = tempDir('diffship-lease-');
    await session(new LocalTransport(root), 'first');
    // Several leases long: without renewal the lock would be stale (and taken over) by now.
    await sleep(LEASE.leaseMs * 3);
    await expect(session(new LocalTransport(root), 'second')).rejects.toMatchObject({ code: 'E_LOCK' });
    const lock = JSON.parse(readFileSync(join(root, '.diffship/lock.json'), 'utf8')) as LockInfo;
    expect(lock.deployId).toBe('first');
    expect(Date.parse(lock.leaseUntil)).toBeGreaterThan(Date.now());
  });

  it('stops with the work: released, the lock stays gone', async () => {
    const root = tempDir('diffship-lease-');
    const s = await session(new LocalTransport(root), 'first');
    await sleep(LEASE.renewMs * 3);
    await s.close();
    await sleep(LEASE.renewMs * 5);
    expect(existsSync(join(root, '.diffship/lock.json'))).toBe(false);
    // The next deploy takes the lock without a takeover.
    const next = await session(new LocalTransport(root), 'next');
    expect(next.recovered ?? '').not.toMatch(/stale/);
  });

  it('never runs two renewals at once: a slow one cannot write the lock back after release', async () => {
    const root = tempDir('diffship-lease-');
    const slow = slowFirstLockRename(root, 1000);
    const s = await session(slow.transport, 'first');
    // The first renewal (at ~100 ms) is stuck in its rename; later ticks come and go meanwhile.
    await sleep(LEASE.renewMs * 4);
    await s.close();
    // Whatever was still in flight has ended by now.
    await sleep(1200);
    expect(slow.slowDone()).toBe(true);
    expect(existsSync(join(root, '.diffship/lock.json'))).toBe(false);
  });

  it('drops the temporary lock file of a killed run at once when its holder is gone, not a live one', async () => {
    const root = tempDir('diffship-lease-');
    mkdirSync(join(root, '.diffship'));
    // A process that has exited: its pid names no one (as a SIGKILLed deploy's does).
    const dead = spawnSync('true').pid;
    const temp = (pid: number) => ({
      deployId: `run-${pid}`,
      command: 'deploy',
      user: 'u',
      host: hostname(),
      pid,
      since: new Date().toISOString(),
      leaseUntil: new Date(Date.now() + 60_000).toISOString(),
    });
    // What a run killed between writing its lock's temporary file and publishing it leaves.
    writeFileSync(join(root, '.diffship/lock.json.new-0badc0de'), JSON.stringify(temp(dead)));
    // A racing run that is alive (this test's parent) is still publishing its own.
    writeFileSync(join(root, '.diffship/lock.json.new-a1fe0000'), JSON.stringify(temp(process.ppid)));
    await session(new LocalTransport(root), 'first');
    expect(existsSync(join(root, '.diffship/lock.json.new-0badc0de'))).toBe(false);
    expect(existsSync(join(root, '.diffship/lock.json.new-a1fe0000'))).toBe(true);
  });
});
