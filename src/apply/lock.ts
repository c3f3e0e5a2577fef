/**
 * One deploy per target (SPEC §3 "Lock"). The lock is a file created with
 * O_EXCL semantics, so two deploys racing for it cannot both win. Its holder
 * renews a lease; a lock whose holder process on this machine is dead, or whose
 * lease ran out, is taken over with a warning.
 */
import { hostname, userInfo } from 'node:os';
import { DiffshipError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Transport } from '../transport/transport.js';
import { readJson, writeJsonAtomic } from './json-file.js';
import type { Layout } from './layout.js';

export interface LockInfo {
  deployId: string;
  command: string;
  user: string;
  host: string;
  pid: number;
  since: string;
  /** ISO time after which the lock may be taken over if not renewed. */
  leaseUntil: string;
}

const LEASE_MS = 60_000;
const RENEW_MS = 20_000;

export interface HeldLock {
  info: LockInfo;
  release(): Promise<void>;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Why a lock can be taken over, or null while its holder is alive. */
export function staleReason(info: LockInfo, now = Date.now(), here = hostname()): string | null {
  if (info.host === here && !processAlive(info.pid)) return `its process ${info.pid} on ${here} is gone`;
  if (Date.parse(info.leaseUntil) < now) return `its lease ran out at ${info.leaseUntil}`;
  return null;
}

export function describeLock(info: LockInfo): string {
  return `${info.user}@${info.host} (pid ${info.pid}, ${info.command} ${info.deployId}) since ${info.since}`;
}

/** Take the lock or fail at once with E_LOCK naming the holder. */
export async function acquireLock(
  t: Transport,
  l: Layout,
  deployId: string,
  command: string,
  log: Logger,
  /** The target's name in the config, for the `diffship unlock --targets <name>` hint. */
  target?: string,
): Promise<HeldLock> {
  const make = (): LockInfo => ({
    deployId,
    command,
    user: safeUser(),
    host: hostname(),
    pid: process.pid,
    since: new Date().toISOString(),
    leaseUntil: new Date(Date.now() + LEASE_MS).toISOString(),
  });
  let info = make();
  for (let attempt = 0; attempt < 3; attempt++) {
    if (await t.createExclusive(l.lock, Buffer.from(JSON.stringify(info, null, 2))))
      return hold(t, l, info, log);
    const holder = await readJson<LockInfo>(t, l.lock).catch(() => null);
    if (holder === null) continue; // released between our two calls: try again
    const stale = staleReason(holder);
    if (stale === null) {
      throw new DiffshipError(
        'E_LOCK',
        `${t.description} is locked by ${describeLock(holder)} — wait for it, or run \`diffship unlock --targets ${target ?? '<name>'}\` if that deploy is gone`,
      );
    }
    // Move the stale lock aside under a name only we use, then make sure we moved the one we judged.
    const aside = `${l.lock}.stale-${deployId}`;
    await t.rename(l.lock, aside).catch(() => undefined);
    const moved = await readJson<LockInfo>(t, aside).catch(() => null);
    await t.unlink(aside);
    if (moved !== null && moved.deployId !== holder.deployId) {
      throw new DiffshipError(
        'E_LOCK',
        `${t.description}: another deploy took the lock at the same moment — try again`,
      );
    }
    log.warn(`${t.description}: taking over a stale lock held by ${describeLock(holder)}: ${stale}`);
    info = make();
  }
  throw new DiffshipError('E_LOCK', `${t.description}: could not take the lock after 3 attempts — try again`);
}

function hold(t: Transport, l: Layout, info: LockInfo, log: Logger): HeldLock {
  let current = info;
  // Renew the lease while the deploy runs, so a long deploy is not taken for dead.
  const timer = setInterval(() => {
    current = { ...current, leaseUntil: new Date(Date.now() + LEASE_MS).toISOString() };
    writeJsonAtomic(t, l.lock, current).catch((e: unknown) => log.warn(`lease renewal failed: ${String(e)}`));
  }, RENEW_MS);
  timer.unref();
  return {
    info,
    async release() {
      clearInterval(timer);
      const holder = await readJson<LockInfo>(t, l.lock).catch(() => null);
      if (holder?.deployId === info.deployId) await t.unlink(l.lock);
    },
  };
}

/** `diffship unlock`: clear a lock by hand. Returns the lock that was removed, if any. */
export async function forceUnlock(t: Transport, l: Layout): Promise<LockInfo | null> {
  const holder = await readJson<LockInfo>(t, l.lock).catch(() => null);
  await t.unlink(l.lock);
  return holder;
}

export async function readLock(t: Transport, l: Layout): Promise<LockInfo | null> {
  return readJson<LockInfo>(t, l.lock).catch(() => null);
}

function safeUser(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? 'unknown';
  }
}
