/**
 * One deploy per target (SPEC §3 "Lock"). The lock is a file created with
 * O_EXCL semantics, so two deploys racing for it cannot both win. Its holder
 * renews a lease; a lock whose holder process on this machine is dead, whose
 * lease ran out, or that is empty or unreadable, is taken over with a warning.
 * It is written whole under a temporary name and published by link (see
 * Transport.createExclusive), so it is never seen empty.
 */
import { hostname, userInfo } from 'node:os';
import { posix } from 'node:path';
import { DiffshipError, describeError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Peeked, Transport } from '../transport/transport.js';
import { writeJsonAtomic } from './json-file.js';
import { LeaseFence } from './lease-fence.js';
import { TooBig, tooBigError } from '../transport/read-bound.js';
import type { Layout } from './layout.js';
import { makeStateDir, STATE_DIR_MODE } from './state-folder.js';

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
  /** Throws LockLostError once this deploy may no longer own the target (lease-fence.ts). */
  check(): void;
  release(): Promise<void>;
}

/** A process of this host by that pid exists (EPERM: it does, another user's). */
export function processAlive(pid: number): boolean {
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

/**
 * The E_LOCK line for a lock held by a live deploy: who holds it, and what the user can do —
 * wait (until when, at the latest, if its holder is gone: a run killed on another machine
 * holds the lock until its lease runs out) or unlock it by hand.
 */
export function lockedMessage(description: string, info: LockInfo, target: string, now = Date.now()): string {
  const seconds = Math.max(1, Math.ceil((Date.parse(info.leaseUntil) - now) / 1000));
  return `${description} is locked by ${describeLock(info)} — wait for it, or run \`diffship unlock --targets ${target}\` if that deploy is gone (if it is, its lease runs out at ${info.leaseUntil}, in ${seconds} s, and the next deploy takes the lock over)`;
}

/** What the lock file holds: null when there is none; `info` null when it is empty or not a lock. */
export interface LockFile {
  info: LockInfo | null;
  raw: Buffer;
}

/**
 * Read the lock file as it is, without trusting it (it comes from the target). `fresh`: as the
 * host has it now, never an answer a peek kept (a renewal and a release judge by it), in one
 * round trip where the transport peeks.
 */
export async function readLockFile(t: Transport, l: Layout, fresh = false): Promise<LockFile | null> {
  const seen = fresh && t.peek ? (await t.peek([l.lock], [l.lock]))?.get(l.lock) : undefined;
  if (seen?.entry === null) return null;
  if (seen?.data)
    return { info: parseLock(checkLockSize(t, l, seen.data.length, seen.data)), raw: Buffer.from(seen.data) };
  const entry = await t.lstat(l.lock);
  if (entry === null) return null;
  checkLockSize(t, l, entry.size, null);
  const raw = await t.readFile(l.lock, LOCK_FILE_MAX).catch((error: unknown) => {
    if (isGone(error)) return null;
    throw error;
  });
  if (raw === null) return null;
  return { info: parseLock(raw), raw };
}

/**
 * The most bytes of a lock file diffship reads: its own are a few hundred. A bigger one is no
 * lock of ours, and not read into memory to find that out.
 */
const LOCK_FILE_MAX = 64 * 1024;

/** `data` (or nothing) when a lock file of `size` bytes may be read; else E_STATE naming it. */
function checkLockSize<T>(t: Transport, l: Layout, size: number, data: T): T {
  if (size <= LOCK_FILE_MAX) return data;
  throw tooBigError(
    `${t.description}/${l.lock}`,
    new TooBig(size, LOCK_FILE_MAX),
    'no deploy writes such a lock: remove it if none is running',
  );
}

function isGone(error: unknown): boolean {
  return /ENOENT|No such file/i.test(String((error as Error)?.message ?? error));
}

function parseLock(raw: Buffer): LockInfo | null {
  try {
    const v = JSON.parse(raw.toString('utf8')) as Partial<LockInfo> | null;
    if (
      v === null ||
      typeof v !== 'object' ||
      typeof v.deployId !== 'string' ||
      typeof v.host !== 'string' ||
      typeof v.pid !== 'number' ||
      typeof v.leaseUntil !== 'string' ||
      Number.isNaN(Date.parse(v.leaseUntil))
    )
      return null;
    return v as LockInfo;
  } catch {
    return null;
  }
}

/** Why a lock file that is not a lock can be taken over. */
export function unreadableReason(raw: Buffer): string {
  return raw.length === 0
    ? 'the lock file is empty (a deploy stopped while writing it)'
    : `the lock file is not a valid lock (${raw.length} bytes)`;
}

/** Options for tests and tuning: how long a lease lasts and how often it is renewed. */
export interface LeaseTiming {
  leaseMs: number;
  renewMs: number;
}

const DEFAULT_TIMING: LeaseTiming = { leaseMs: LEASE_MS, renewMs: RENEW_MS };

/** What acquireLock looks at behind the lock, and whether the state folder is to be made first. */
export interface LockPeek {
  paths: readonly string[];
  reads: readonly string[];
  makeDir?: boolean;
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
  timing: LeaseTiming = DEFAULT_TIMING,
  /**
   * Paths to peek at right after the lock is taken, in the same round trip (state-prefetch.ts);
   * `makeDir`: the state folder is not there yet, made first (with the lock where the transport can).
   */
  peek?: LockPeek,
): Promise<HeldLock & { peeked: ReadonlyMap<string, Peeked> | null }> {
  const make = (): LockInfo => ({
    deployId,
    command,
    user: safeUser(),
    host: hostname(),
    pid: process.pid,
    since: new Date().toISOString(),
    leaseUntil: new Date(Date.now() + timing.leaseMs).toISOString(),
  });
  for (let attempt = 0; attempt < 3; attempt++) {
    const writtenAt = performance.now();
    const info = make();
    const taken = await createLock(t, l, info, peek);
    if (taken.created) {
      await dropOldLockTemps(t, l, timing.leaseMs);
      const fence = new LeaseFence(t.description, timing.leaseMs, writtenAt);
      return { ...hold(t, l, info, log, timing, fence), peeked: taken.seen };
    }
    // The peek behind the create read the lock that stood in the way (it is served from there).
    const found = await readLockFile(t, l);
    if (found === null) continue; // released between our two calls: try again
    const stale = found.info === null ? unreadableReason(found.raw) : staleReason(found.info);
    if (stale === null) {
      throw new DiffshipError('E_LOCK', lockedMessage(t.description, found.info!, target ?? '<name>'));
    }
    // Move the stale lock aside under a name only we use, then make sure we moved the one we judged.
    const aside = `${l.lock}.stale-${deployId}`;
    await t.rename(l.lock, aside).catch(() => undefined);
    const moved = await t.readFile(aside, LOCK_FILE_MAX).catch(() => null);
    if (moved !== null && !moved.equals(found.raw)) {
      // A fresh lock of another deploy: put it back.
      await t.rename(aside, l.lock).catch(() => undefined);
      throw new DiffshipError(
        'E_LOCK',
        `${t.description}: another deploy took the lock at the same moment — try again`,
      );
    }
    await t.unlink(aside);
    const who = found.info === null ? 'nobody' : describeLock(found.info);
    log.warn(`${t.description}: taking over a stale lock held by ${who}: ${stale}`);
  }
  throw new DiffshipError('E_LOCK', `${t.description}: could not take the lock after 3 attempts — try again`);
}

/**
 * createExclusive (with the peek behind it where the transport can: one round trip), with a
 * failure (a full disk, say) told as what it is and what to do.
 *
 * Not fsynced (`sync: false`; the local transport honours it): the lock is a lease, not a
 * record recovery needs (the journal is). Only a crash of the target's kernel can lose an
 * unsynced lock file, and on a local target that crash ends the deploy holding it too. After
 * it the file is gone, empty (taken over: "the lock file is empty") or whole and stale (taken
 * over once its process is gone or its lease ran out, as a synced one would be): never a live
 * holder's lock lost. Each deploy of a fleet spares an fsync wait before its first step
 * (docs/cli.md#durability-order). Over SSH the transport syncs it anyway.
 */
async function createLock(
  t: Transport,
  l: Layout,
  info: LockInfo,
  peek: LockPeek | undefined,
): Promise<{ created: boolean; seen: ReadonlyMap<string, Peeked> | null }> {
  const data = Buffer.from(JSON.stringify(info, null, 2));
  if (peek?.makeDir && t.createExclusiveAndPeek) {
    const folder = { rel: l.dir, mode: STATE_DIR_MODE };
    const done = await lockError(t, l, t.createExclusiveAndPeek(l.lock, data, 0o644, { ...peek, folder }));
    if (done) return done;
    // The state folder could not be made with the lock: the usual way says why, then the lock.
    await makeStateDir(t, l.dir);
  } else if (peek?.makeDir) await makeStateDir(t, l.dir);
  return lockError(t, l, createdHere(t, l, data, peek));
}

/** The lock created, with the peek behind it where the transport can. */
async function createdHere(
  t: Transport,
  l: Layout,
  data: Buffer,
  peek: LockPeek | undefined,
): Promise<{ created: boolean; seen: ReadonlyMap<string, Peeked> | null }> {
  const done =
    peek && (await t.createExclusiveAndPeek?.(l.lock, data, 0o644, { paths: peek.paths, reads: peek.reads }));
  return done ?? { created: await t.createExclusive(l.lock, data, 0o644, { sync: false }), seen: null };
}

/** A failure to write the lock (a full disk, say), told as what it is and what to do. */
async function lockError<T>(t: Transport, l: Layout, writing: Promise<T>): Promise<T> {
  try {
    return await writing;
  } catch (error) {
    throw new DiffshipError(
      'E_TRANSPORT',
      `${t.description}: cannot write the lock ${l.lock} (${describeError(error)}) — nothing was changed; free space or fix permissions on the target, then run again`,
      { cause: error },
    );
  }
}

/**
 * Temporary lock files of a run killed while publishing or renewing its lock. A racing run's may
 * be live: one goes when the lock it holds names a holder that is gone (the same test as for the
 * lock itself), or, when it holds no lock yet (killed mid-write), once it is older than a lease.
 */
async function dropOldLockTemps(t: Transport, l: Layout, leaseMs: number): Promise<void> {
  try {
    const mine = await t.lstat(l.lock);
    const prefix = `${posix.basename(l.lock)}.`;
    for (const name of (await t.readdir(l.dir)) ?? []) {
      if (!name.startsWith(prefix) || !/\.(new|tmp)-[0-9a-f]+$/.test(name)) continue;
      const rel = `${l.dir}/${name}`;
      const e = await t.lstat(rel);
      if (e?.type !== 'file') continue;
      const info = parseLock(await t.readFile(rel, LOCK_FILE_MAX));
      // Compared with the file system's own clock (our lock's mtime), not this machine's.
      const old = mine !== null && e.mtimeMs < mine.mtimeMs - leaseMs;
      if (old || (info !== null && staleReason(info) !== null)) await t.unlink(rel);
    }
  } catch {
    // Litter only: never a reason to fail a deploy.
  }
}

function hold(
  t: Transport,
  l: Layout,
  info: LockInfo,
  log: Logger,
  timing: LeaseTiming,
  fence: LeaseFence,
): HeldLock {
  let current = info;
  let released = false;
  // One renewal at a time: a slow host must not pile renewals up, nor let an old one rewrite the
  // lock after release() removed it.
  let renewing: Promise<void> | null = null;
  // Renew the lease while the deploy runs, so a long deploy is not taken for dead.
  const renew = async () => {
    // Woken after a pause past the lease: another deploy may be taking the lock over right now,
    // and a renewal racing it could overwrite its lock. The fence stops this deploy instead.
    if (fence.expired()) {
      clearInterval(timer);
      log.warn(`${t.description}: the lock's lease ran out before it could be renewed; not renewing it`);
      return;
    }
    const startedAt = performance.now();
    const found = await readLockFile(t, l, true);
    if (released) return;
    if (found?.info?.deployId !== info.deployId) {
      clearInterval(timer);
      const holder = found?.info ? describeLock(found.info) : 'nobody (it is gone)';
      fence.lose(holder);
      log.warn(`${t.description}: the lock is no longer ours (${holder}); not renewing it`);
      return;
    }
    current = { ...current, leaseUntil: new Date(Date.now() + timing.leaseMs).toISOString() };
    await writeJsonAtomic(t, l.lock, current);
    fence.renewed(startedAt);
  };
  const timer = setInterval(() => {
    if (renewing !== null) return; // the last one is still going: its lease is what counts
    renewing = renew()
      .catch((e: unknown) => log.warn(`${t.description}: lease renewal failed: ${describeError(e)}`))
      .finally(() => (renewing = null));
  }, timing.renewMs);
  timer.unref();
  return {
    info,
    check: () => fence.check(),
    async release() {
      released = true;
      clearInterval(timer);
      await renewing;
      // Checked and removed on the host in one round trip where the transport can (over SSH).
      const done = await t.unlinkIfStarts?.(l.lock, lockMark(info.deployId)).catch(() => null);
      if (done !== undefined && done !== null) return;
      const holder = (await readLockFile(t, l, true).catch(() => null))?.info;
      if (holder?.deployId === info.deployId) await t.unlink(l.lock);
    },
  };
}

/**
 * The line naming the holder in a lock file as this version writes it (`JSON.stringify(info,
 * null, 2)`, deployId first; renewals keep that order): a lock holding it is ours. Deploy ids
 * are plain names (session.ts), so the text needs no escaping beyond JSON's quotes.
 */
function lockMark(deployId: string): string {
  return `{\n  "deployId": ${JSON.stringify(deployId)},\n`;
}

/** `diffship unlock`: clear a lock by hand. Returns what was removed (an unreadable lock too), if anything. */
export async function forceUnlock(t: Transport, l: Layout): Promise<LockFile | null> {
  const found = await readLockFile(t, l);
  await t.unlink(l.lock);
  return found;
}

/** The lock, or null when there is none or it is not a valid lock (see readLockFile). */
export async function readLock(t: Transport, l: Layout): Promise<LockInfo | null> {
  return (await readLockFile(t, l).catch(() => null))?.info ?? null;
}

/** The user this process runs as, looked up once: userInfo() reads the password database per call. */
let user: string | undefined;

function safeUser(): string {
  if (user !== undefined) return user;
  try {
    user = userInfo().username;
  } catch {
    user = process.env.USER ?? 'unknown';
  }
  return user;
}
