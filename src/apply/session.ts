/**
 * One target's deploy session: the atomic protocol of SPEC §3 on top of a
 * Transport. open (connect, lock, recover) → plan → apply (stage → verify →
 * backup → journal → rename → state) → rollback if asked → close (unlock).
 * The rollout orchestrator drives it; the CLI's plan/status/rollback/unlock
 * use pieces of it.
 */
import { revealUnits } from './unit-reveal.js';
import { randomBytes } from 'node:crypto';
import { DiffshipError, describeError } from '../errors.js';
import type { Logger } from '../log.js';
import { silentLogger } from '../log.js';
import type { Transport } from '../transport/transport.js';
import type { DiffResult } from '../diff/types.js';
import { SYMLINK_MODE } from '../diff/types.js';
import { diffWith } from '../diff/diff-releases.js';
import { GitObjects } from '../diff/git-objects.js';
import { hashAlgorithmOf, type HashAlgorithm } from '../diff/blob.js';
import type { Mode, OnDrift } from '../config/types.js';
import { pathsToObserve, planTarget, type ReleaseFile } from '../plan/plan.js';
import type { Observed, TargetPlan } from '../plan/types.js';
import { layout, type Layout } from './layout.js';
import { acquireLock, type HeldLock } from './lock.js';
import { readState, type TargetState } from './state.js';
import { readJournal, recordState, recover, writeJournal } from './journal.js';
import {
  discardBackup,
  listBackups,
  pruneBackups,
  pruneEmptyDirs,
  readBackup,
  restoreBackup,
  takeBackup,
} from './backup.js';
import { checkParents, parentsOf } from './safe-path.js';
import { connectReadOnly, isMissingRoot } from './absent-root.js';
import { mapLimit } from '../pool.js';

/** Above this many paths to observe, one walk of the target is cheaper than a look at each. */
const WALK_ABOVE = 2_000;

/** How many backups a target keeps (SPEC §3). */
export const KEEP_BACKUPS = 3;

export interface SessionOptions {
  transport: Transport;
  stateDir: string;
  deployId?: string;
  /** `deploy`, `rollback`, …: recorded in the lock for whoever finds it. */
  command: string;
  log?: Logger;
  /** Read-only sessions (plan, status) take no lock, recover nothing and write nothing. */
  readOnly?: boolean;
  /** Operations in flight at once on the target. */
  concurrency?: number;
  /**
   * The repository's object reader to share (a rollout keeps one for all its
   * targets). Without it, each diff and each apply starts its own git process.
   */
  objects?: GitObjects;
}

export interface PlanOptions {
  repo: string;
  to: string;
  source?: string;
  include?: readonly string[];
  exclude?: readonly string[];
  renames?: boolean;
  mode: Mode;
  protect?: readonly string[];
  onDrift: OnDrift;
  maxDeletes?: number;
}

export interface ApplyProgress {
  phase: 'stage' | 'verify' | 'backup' | 'commit' | 'delete';
  done: number;
  total: number;
  bytes: number;
}

export interface ApplyResult {
  /** Bytes written into the target. */
  bytes: number;
  /** False when there was nothing to write or delete. */
  changed: boolean;
  state: TargetState;
  /** `units.reveal: unit`: how each unit folder was swapped in (`exchange`, `renames 0.05ms`, `new`, `removed`). */
  swaps?: Array<{ unit: string; how: string }>;
}

/** A sortable, unique deploy id: 20261121T233000123Z-1a2b3c (to the millisecond, then random). */
export function newDeployId(now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:.]/g, '');
  return `${stamp}-${randomBytes(3).toString('hex')}`;
}

export class TargetSession {
  readonly transport: Transport;
  readonly layout: Layout;
  readonly deployId: string;
  private readonly log: Logger;
  private readonly concurrency: number;
  private lock: HeldLock | null = null;
  /** The state as found after recovery. */
  state: TargetState | null = null;
  /** What recovery did, if anything. */
  recovered: string | null = null;
  /** A journal exists but this session is read-only: the plan assumes it will be undone. */
  pendingRecovery = false;
  /** Read-only session on a target folder that does not exist yet (the first deploy creates it). */
  missing = false;

  private constructor(private readonly options: SessionOptions) {
    this.transport = options.transport;
    this.layout = layout(options.stateDir);
    this.deployId = options.deployId ?? newDeployId();
    this.log = options.log ?? silentLogger;
    this.concurrency = options.concurrency ?? (options.transport.kind === 'ssh' ? 64 : 16);
  }

  /**
   * Connect, take the lock and recover an interrupted run (unless read-only).
   * A read-only session on a target folder that does not exist yet sees an
   * empty target (everything is planned as added) and creates nothing.
   */
  static async open(options: SessionOptions): Promise<TargetSession> {
    let missing = false;
    if (options.readOnly) {
      const connected = await connectReadOnly(options.transport);
      options = { ...options, transport: connected.transport };
      missing = connected.missing;
    } else if (options.command === 'rollback') {
      // Nothing to undo on a folder that was never created; and a rollback must not create it.
      await options.transport.connect({ create: false }).catch((error: unknown) => {
        if (!isMissingRoot(error)) throw error;
        throw new DiffshipError(
          'E_STATE',
          `${options.transport.description}: nothing to roll back — the target folder does not exist`,
          { cause: error },
        );
      });
    } else {
      await options.transport.connect({ create: true });
    }
    const s = new TargetSession(options);
    s.missing = missing;
    const t = s.transport;
    try {
      if (options.readOnly) {
        s.pendingRecovery = (await readJournal(t, s.layout)) !== null;
      } else {
        await t.mkdirp(s.layout.dir);
        s.lock = await acquireLock(t, s.layout, s.deployId, options.command, s.log);
        s.recovered = await recover(t, s.layout, s.log, s.concurrency);
      }
      s.state = await readState(t, s.layout);
    } catch (error) {
      await s.close();
      throw error;
    }
    return s;
  }

  /** Diff from the recorded release, observe the target, and plan. Writes nothing. */
  async plan(o: PlanOptions): Promise<TargetPlan> {
    const t = this.transport;
    const filters = {
      repo: o.repo,
      source: o.source,
      include: o.include,
      exclude: o.exclude,
      renames: o.renames,
    };
    const objects = this.options.objects ?? null;
    const diff: DiffResult = await diffWith(objects, {
      ...filters,
      from: this.state?.release ?? null,
      to: o.to,
    });
    const stateDir = this.layout.dir;
    // The target's files are hashed the way the repository names its objects (sha1 or sha256).
    const algorithm = hashAlgorithmOf(diff.to);
    let observed: Map<string, Observed>;
    let release: Map<string, ReleaseFile> | undefined;
    if (o.mode === 'authoritative') {
      const full = diff.from === null ? diff : await diffWith(objects, { ...filters, from: null, to: o.to });
      release = new Map();
      for (const c of full.changes)
        if (c.status !== 'deleted') release.set(c.path, { mode: c.mode, blob: c.blob });
      const entries = await t.walk('', [stateDir]);
      observed = new Map();
      for (const e of entries) observed.set(e.path, { type: e.type, blob: null, mode: e.mode });
      const hashes = await t.hashFiles(
        entries.filter((e) => e.type === 'file' || e.type === 'symlink').map((e) => e.path),
        { algorithm },
      );
      for (const [path, blob] of hashes) {
        const obs = observed.get(path);
        if (obs) obs.blob = blob;
      }
      // Paths the diff names but the walk did not reach (under a symlinked folder, say) still need a look.
      await this.observeInto(
        observed,
        pathsToObserve(diff).filter((p) => !observed.has(p)),
        algorithm,
      );
    } else {
      observed = new Map();
      await this.observeInto(observed, pathsToObserve(diff), algorithm);
    }
    const plan = planTarget({
      diff,
      mode: o.mode,
      protect: o.protect ?? [],
      onDrift: o.onDrift,
      maxDeletes: o.maxDeletes,
      stateDir,
      kept: this.state?.kept ?? [],
      observed,
      release,
    });
    plan.observedDirs = [...observed].filter(([, o]) => o.type === 'dir').map(([p]) => p);
    return plan;
  }

  private async observeInto(
    into: Map<string, Observed>,
    paths: string[],
    algorithm: HashAlgorithm,
  ): Promise<void> {
    const t = this.transport;
    const unique = [...new Set(paths)];
    if (unique.length > WALK_ABOVE) return this.observeByWalk(into, unique, algorithm);
    // Each folder is looked at once, however many files it holds.
    const folders = new Map<string, Promise<boolean>>();
    const isRealDir = (dir: string) => {
      let known = folders.get(dir);
      if (!known) folders.set(dir, (known = t.lstat(dir).then((e) => e?.type === 'dir')));
      return known;
    };
    const entries = await mapLimit(unique, this.concurrency, async (p) => {
      // A path below a symlinked or missing folder is not looked at through the link.
      for (const parent of parentsOf(p)) if (!(await isRealDir(parent))) return null;
      return t.lstat(p);
    });
    const present = unique.filter((_, i) => entries[i] !== null && entries[i]?.type !== 'dir');
    const hashes = await t.hashFiles(present, { algorithm });
    unique.forEach((p, i) => {
      const e = entries[i];
      if (!e) return;
      into.set(p, { type: e.type, blob: hashes.get(p) ?? null, mode: e.mode });
    });
  }

  /** Many paths: one walk of the folder answers them all (it never descends into links). */
  private async observeByWalk(
    into: Map<string, Observed>,
    paths: string[],
    algorithm: HashAlgorithm,
  ): Promise<void> {
    const t = this.transport;
    const wanted = new Set(paths);
    const found = (await t.walk('', [this.layout.dir])).filter((e) => wanted.has(e.path));
    const hashes = await t.hashFiles(
      found.filter((e) => e.type !== 'dir').map((e) => e.path),
      { algorithm },
    );
    for (const e of found) into.set(e.path, { type: e.type, blob: hashes.get(e.path) ?? null, mode: e.mode });
  }

  /**
   * Execute a plan atomically. Nothing outside the state folder changes until
   * every new file is staged and verified and every old one is backed up.
   */
  async apply(plan: TargetPlan, repo: string, onProgress?: (p: ApplyProgress) => void): Promise<ApplyResult> {
    if (this.options.readOnly) throw new Error('apply on a read-only session');
    if (plan.blocked)
      throw new DiffshipError(plan.blocked.code, `${this.transport.description}: ${plan.blocked.message}`);
    const t = this.transport;
    const l = this.layout;
    const newState: TargetState = {
      version: 1,
      release: plan.to,
      previousRelease: this.state?.release ?? null,
      deployId: this.deployId,
      deployedAt: new Date().toISOString(),
      mode: plan.mode,
      kept: plan.kept,
    };
    const noFiles = plan.writes.length === 0 && plan.deletes.length === 0;
    if (
      noFiles &&
      this.state?.release === plan.to &&
      JSON.stringify(this.state.kept) === JSON.stringify(plan.kept)
    ) {
      return { bytes: 0, changed: false, state: this.state };
    }
    // A new release with no file to touch still gets a (empty) backup, so a rollback returns to
    // the release recorded before it rather than skipping over it.

    // 1. Safety: every parent is a real folder (or absent, or a file this deploy deletes).
    const deleting = new Set(plan.deletes.map((d) => d.path));
    const parents = await checkParents(
      t,
      [...plan.writes.map((w) => w.path), ...plan.deletes.map((d) => d.path)],
      deleting,
    );
    // Only paths the plan saw as folders can be folders in the way.
    const observedDirs = new Set(plan.observedDirs);
    for (const w of plan.writes) {
      if (observedDirs.has(w.path) && !deleting.has(w.path)) {
        throw new DiffshipError(
          'E_UNSAFE',
          `${t.description}: ${w.path} is a folder, but the release has a file there — remove the folder or deploy in authoritative mode`,
        );
      }
    }

    // 2. Stage every new file complete inside the state folder, then check it against its blob id.
    const staging = l.stagingFor(this.deployId);
    await t.mkdirp(staging);
    const blobs = this.options.objects ?? new GitObjects(repo);
    let bytes = 0;
    let done = 0;
    const total = plan.writes.length;
    try {
      await mapLimit(plan.writes, this.concurrency, async (w, i) => {
        const data = await blobs.readBlob(w.blob);
        const staged = `${staging}/${i}`;
        if (w.mode === SYMLINK_MODE) await t.symlink(data.toString('utf8'), staged);
        else await t.writeFile(staged, data, w.mode === '100755' ? 0o755 : 0o644, { sync: false });
        bytes += data.length;
        onProgress?.({ phase: 'stage', done: ++done, total, bytes });
      });
    } finally {
      if (blobs !== this.options.objects) blobs.close();
    }
    const stagedPaths = plan.writes.map((_, i) => `${staging}/${i}`);
    const hashes = await t.hashFiles(stagedPaths, { algorithm: hashAlgorithmOf(plan.to) });
    plan.writes.forEach((w, i) => {
      const got = hashes.get(stagedPaths[i] as string);
      if (got !== w.blob) {
        throw new DiffshipError(
          'E_VERIFY',
          `${t.description}: staged copy of ${w.path} has blob ${got ?? '(missing)'}, expected ${w.blob} — the target's disk or connection corrupted it; nothing was changed`,
        );
      }
    });
    onProgress?.({ phase: 'verify', done: total, total, bytes });

    // 3. Back up everything about to be replaced or deleted, then journal: from here a crash is undone.
    const touched = [...plan.writes.map((w) => w.path), ...plan.deletes.map((d) => d.path)];
    await takeBackup(t, l, this.deployId, touched, this.state, parents.missing, this.concurrency);
    onProgress?.({ phase: 'backup', done: touched.length, total: touched.length, bytes });
    // Staged files and the backup are durable before the journal makes them count: one sync for all.
    await t.syncWritten();
    await writeJournal(t, l, {
      version: 1,
      kind: 'deploy',
      phase: 'commit',
      deployId: this.deployId,
      backupId: this.deployId,
      newState,
    });

    let reveal: Awaited<ReturnType<typeof revealUnits>> | null = null;
    // 4. Commit. A failure here (disk full, a link dropped) is undone at once from the backup, so the
    //    target does not wait for the next run to stop being a mix of two releases.
    try {
      // 4. Commit: deletes that stand in the way of new folders, then renames, then the other deletes.
      for (const dir of parents.replaced) await t.unlink(dir);
      // Folders inside a unit revealed whole come with the unit (`units.reveal: unit`).
      const revealed = (plan.revealUnits ?? []).map((u) => `${u.path}/`);
      for (const dir of parents.missing)
        if (!revealed.some((u) => `${dir}/`.startsWith(u))) await t.mkdirp(dir);
      done = 0;
      reveal = plan.revealUnits?.length ? await revealUnits(t, staging, plan) : null;
      await mapLimit(plan.writes, this.concurrency, async (w, i) => {
        if (reveal?.done.has(i)) return;
        await t.rename(`${staging}/${i}`, w.path);
        onProgress?.({ phase: 'commit', done: ++done, total, bytes });
      });
      // Children before parents; a file already gone is fine.
      const deletes = plan.deletes
        .map((d) => d.path)
        .filter((p) => !parents.replaced.includes(p))
        .sort((a, b) => b.split('/').length - a.split('/').length);
      for (const p of deletes) {
        const e = await t.lstat(p);
        if (e?.type === 'dir') await t.removeTree(p);
        else if (e) await t.unlink(p);
      }
      await pruneEmptyDirs(t, [...new Set(deletes.flatMap(parentsOf))]);
      onProgress?.({ phase: 'delete', done: deletes.length, total: deletes.length, bytes });
      // 5. Record the state (its deployId tells recovery the deploy finished), then drop the journal.
      await recordState(t, l, newState);
      await t.unlink(l.journal);
    } catch (error) {
      await this.undoFailedCommit(error);
      throw error;
    }
    await t.removeTree(l.staging);
    await pruneBackups(t, l, KEEP_BACKUPS);
    this.state = newState;
    return { bytes, changed: !noFiles, state: newState, ...(reveal ? { swaps: reveal.swaps } : {}) };
  }

  /** The commit failed half-way: put the recorded release back now (the journal's undo path). */
  private async undoFailedCommit(cause: unknown): Promise<void> {
    try {
      await recover(this.transport, this.layout, this.log, this.concurrency);
    } catch (undoError) {
      // The journal stays: the next run on this target finishes the undo.
      this.log.error(
        `${this.transport.description}: could not undo the failed deploy now (${describeError(undoError)}); the next run will, from its journal (first error: ${describeError(cause)})`,
      );
    }
  }

  /**
   * Undo the newest deploy (or the one named): restore its backup byte for byte and
   * record the release it replaced. Returns that release, or throws when no backup exists.
   */
  async rollback(
    deployId?: string,
  ): Promise<{ restored: string | null; deployId: string; restoredPaths: string[]; removedPaths: string[] }> {
    const t = this.transport;
    const l = this.layout;
    // The backup to undo is the one of the deploy that produced the recorded state.
    const current = this.state?.deployId;
    const backups = await listBackups(t, l);
    const id = deployId ?? (current !== undefined && backups.includes(current) ? current : backups[0]);
    const manifest = id === undefined ? null : await readBackup(t, l, id);
    if (id === undefined || manifest === null) {
      throw new DiffshipError(
        'E_STATE',
        `${t.description}: no backup to roll back to${deployId ? ` for deploy ${deployId}` : ''} — diffship keeps the last ${KEEP_BACKUPS} deploys`,
      );
    }
    await writeJournal(t, l, {
      version: 1,
      kind: 'rollback',
      phase: 'commit',
      deployId: this.deployId,
      backupId: id,
      newState: manifest.previousState,
    });
    await restoreBackup(t, l, manifest, this.concurrency);
    await recordState(t, l, manifest.previousState);
    await discardBackup(t, l, id);
    await t.unlink(l.journal);
    this.state = manifest.previousState;
    const paths = (action: 'restore' | 'remove') =>
      manifest.entries.filter((e) => e.action === action).map((e) => e.path);
    return {
      restored: manifest.previousState?.release ?? null,
      deployId: id,
      restoredPaths: paths('restore'),
      removedPaths: paths('remove'),
    };
  }

  /** Release the lock and the connection. Safe to call twice. */
  async close(): Promise<void> {
    try {
      await this.lock?.release();
    } finally {
      this.lock = null;
      await this.transport.close();
    }
  }
}
