/**
 * One target's deploy session: the atomic protocol of SPEC §3 on top of a
 * Transport. open (connect, lock, recover) → plan → apply (stage → verify →
 * backup → journal → rename → state) → rollback if asked → close (unlock).
 * The rollout orchestrator drives it; the CLI's plan/status/rollback/unlock
 * use pieces of it.
 */
import { revealUnits } from './unit-reveal.js';
import { DiffshipError, describeError } from '../errors.js';
import type { Logger } from '../log.js';
import { silentLogger } from '../log.js';
import type { Peeked, Transport } from '../transport/transport.js';
import type { GitObjects } from '../diff/git-objects.js';
import type { TargetPlan } from '../plan/types.js';
import { planOnTarget, type PlanOptions, type PlanTarget } from '../observe/plan-target.js';
import { layout, type Layout } from './layout.js';
import { acquireLock, type HeldLock, type LeaseTiming } from './lock.js';
import { fenced } from './fenced-transport.js';
import { isLockLost } from './lease-fence.js';
import { readState, type TargetState } from './state.js';
import { pendingRecovery, recover } from './journal.js';
import { stateIsOurs, undoFailedCommit } from './failed-commit.js';
import { checkParents, deepestFolders } from './safe-path.js';
import { commitDeletes } from './commit-deletes.js';
import { deletedAmong, deletedPaths, touchedPaths } from './plan-paths.js';
import { checkedDeployId, newDeployId } from './deploy-id.js';
import { checkStateDirPath, checkStateFolder } from './state-folder.js';
import { connectReadOnly, isMissingRoot } from './absent-root.js';
import { firstPeek, prefetchStateFolder, withLookAhead } from './state-prefetch.js';
import { censusOf, type StateCensus } from './state-census.js';
import type { PendingManifest } from './manifest-merge.js';
import { loadManifest, manifestFolders, nextManifest } from './manifest-store.js';
import { renameStaged } from './rename-staged.js';
import { recordRelease } from './record-release.js';
import { forEachLimit } from '../pool.js';
import type { ApplyProgress } from './progress.js';
import { dropLeftovers, stageAndJournal, type StageSession } from './stage.js';
import { rollbackTarget } from './rollback.js';
import { rollbackUnitFiles, type UnitRollbackResult } from './unit-rollback.js';
import { placeWrites, type Placement } from './staged-tree.js';
import { clearSwappedFolders, swappedFolders } from './folder-swap.js';
import { metadataConcurrency } from './in-flight.js';
import { cleanUp } from './clean-up.js';
import { takeEcho } from '../observe/walk-echo.js';
import type { FileStat } from '../plan/manifest-types.js';

export interface SessionOptions {
  transport: Transport;
  stateDir: string;
  deployId?: string;
  /** `deploy`, `rollback`, …: recorded in the lock for whoever finds it. */
  command: string;
  /** The target's name in the config, for messages that tell what to run. */
  target?: string;
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
  /** The repository's object id length (40 sha1, 64 sha256): recorded ids of another length are refused. */
  idLength?: number;
  /** The lock's lease and how often it is renewed (default 60 s and 20 s). */
  lease?: LeaseTiming;
  /** Cancellation: planning and staging stop at their next step (the commit, once started, does not). */
  signal?: AbortSignal;
  /**
   * Paths the caller looks at once the lock is held (the folders above a plan made before it:
   * KeptPlans.lookAhead): asked behind the lock, in its round trip where the transport can.
   */
  lookAhead?: readonly string[];
  /** A read-only session's looks at its state folder, asked ahead (rollout/early-look.ts), if answered. */
  lookedAhead?: Promise<unknown>;
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

export class TargetSession {
  readonly transport: Transport;
  readonly layout: Layout;
  readonly deployId: string;
  private readonly log: Logger;
  private readonly concurrency: number;
  private lock: HeldLock | null = null;
  /** The state folder as the lock's first look saw it, for the clean-up (dropped once a command runs). */
  private census: StateCensus | null = null;
  /** The state as found after recovery. */
  state: TargetState | null = null;
  /** What recovery did, if anything. */
  recovered: string | null = null;
  /** A journal exists but this session is read-only: the plan assumes it will be undone. */
  pendingRecovery = false;
  /** What the next run does with that journal: finish a deploy already in place, or undo it. */
  pendingOutcome: 'finish' | 'undo' | null = null;
  /** Read-only session on a target folder that does not exist yet (the first deploy creates it). */
  missing = false;

  private constructor(private readonly options: SessionOptions) {
    // Every write checks first that the lock (once taken) is still ours: see lease-fence.ts.
    // A command run there (a hook's) may change the state folder too: the census no longer stands.
    this.transport = fenced(
      options.transport,
      () => this.lock?.check(),
      () => (this.census = null),
    );
    this.layout = layout(options.stateDir);
    this.deployId = checkedDeployId(options.deployId ?? newDeployId());
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
      // A folder made now holds nothing: the look at its state folder goes with its creation.
      await options.transport.connect({
        create: true,
        look: firstPeek(layout(options.stateDir), options.transport),
      });
    }
    const s = new TargetSession(options);
    s.missing = missing;
    const t = s.transport;
    let seen: ReadonlyMap<string, Peeked> | null = null;
    try {
      // Read-only: all that is read next, asked in one go (a deploy asks once it holds the lock).
      if (options.readOnly && !missing && !(await options.lookedAhead))
        await prefetchStateFolder(t, s.layout, { manifest: true });
      // The state folder is diffship's: no link on its path, nothing in it planted by someone else.
      const present = await checkStateDirPath(t, s.layout);
      if (options.readOnly) {
        await checkStateFolder(t, s.layout, undefined);
        s.pendingOutcome = await pendingRecovery(t, s.layout);
        s.pendingRecovery = s.pendingOutcome !== null;
      } else {
        // The lock itself is written past the fence: its release must work when the fence is shut.
        // The lock and the first look at the state folder in one round trip where the transport can;
        // the state folder made first where it was not seen just now, in that round trip too.
        const lock = await acquireLock(
          options.transport,
          s.layout,
          s.deployId,
          options.command,
          s.log,
          options.target,
          options.lease,
          { ...withLookAhead(firstPeek(s.layout, t), options.lookAhead), makeDir: !present },
        );
        s.lock = lock;
        seen = await prefetchStateFolder(t, s.layout, { first: lock.peeked, manifest: 'unless-held' });
        // The lock file was just created by the user diffship runs as on the target: its owner is that user.
        await checkStateFolder(t, s.layout, (await t.lstat(s.layout.lock))?.uid);
        s.recovered = await recover(t, s.layout, s.log, s.concurrency);
      }
      s.state = await readState(t, s.layout, options.idLength);
      // What the clean-up would list again, as recovery left it (unless it undid or finished a run).
      if (seen && s.recovered === null)
        s.census = censusOf(seen, s.layout, s.state?.manifestFile?.file ?? null);
    } catch (error) {
      await s.close();
      throw error;
    }
    return s;
  }

  /** Diff from the recorded release, observe the target, and plan. Writes nothing. */
  async plan(o: PlanOptions): Promise<TargetPlan> {
    return planOnTarget(this.parts, o);
  }

  /** What the steps in their own modules (plan, stage, rollback) need of this session. */
  private get parts(): PlanTarget & StageSession {
    return {
      transport: this.transport,
      layout: this.layout,
      deployId: this.deployId,
      state: this.state,
      objects: this.options.objects ?? null,
      concurrency: this.concurrency,
      log: this.log,
      signal: this.options.signal,
    };
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
    const sameRelease = this.state?.release === plan.to;
    const newState: TargetState = {
      version: 3,
      release: plan.to,
      // A state only upgraded (same release, manifest recorded) keeps pointing at the release before.
      previousRelease: sameRelease ? (this.state?.previousRelease ?? null) : (this.state?.release ?? null),
      deployId: this.deployId,
      deployedAt: new Date().toISOString(),
      mode: plan.mode,
      kept: plan.kept,
      // Recorded once the files are in place, with their stats (commit, step 5).
      manifest: null,
      manifestFile: null,
      ...(plan.selection ? { selection: plan.selection } : {}),
    };
    const noFiles = plan.writes.length === 0 && plan.deletes.length === 0;
    if (
      noFiles &&
      this.state?.release === plan.to &&
      // Units held back are recorded so until a deploy ships them (or the release no longer differs).
      !this.state.heldBack?.length &&
      JSON.stringify(this.state.kept) === JSON.stringify(plan.kept) &&
      // A state from before manifests gets one recorded, and one from before manifest files (version
      // 2) gets its file, even when no file changes.
      (this.state.manifestFile !== null || !(plan.manifest || plan.manifestDelta)) &&
      // A state from before selections were recorded is not rewritten just to add one.
      (plan.selection === undefined ||
        this.state.selection === undefined ||
        JSON.stringify(this.state.selection) === JSON.stringify(plan.selection))
    ) {
      return { bytes: 0, changed: false, state: this.state };
    }
    // The manifest to record, checked now (the previous one's lines are hostile input): a bad one
    // stops the deploy before anything is written.
    const manifest = nextManifest(t, this.layout, plan, this.state);
    // A new release with no file to touch still gets a (empty) backup, so a rollback returns to
    // the release recorded before it rather than skipping over it.

    // 1. Safety: every parent is a real folder (or absent, or a file this deploy deletes).
    // Paths passed one by one: no array of a first deploy's 500,000, no set of 300,000 strays.
    const parents = await checkParents(t, touchedPaths(plan), deletedPaths(plan));
    // Only paths the plan saw as folders can be folders in the way (the planner refuses them
    // already: plan/folder-slots.ts; this guards a plan made by other means). A folder the plan
    // empties (a release turning a folder into a file) goes at commit: folder-swap.ts.
    const observedDirs = new Set(plan.observedDirs);
    const deletedDirs = deletedAmong(plan, observedDirs);
    const swapped = new Set(swappedFolders(plan));
    for (const w of plan.writes) {
      if (observedDirs.has(w.path) && !deletedDirs.has(w.path) && !swapped.has(w.path)) {
        throw new DiffshipError(
          'E_UNSAFE',
          `${t.description}: ${w.path} is a folder on the target where the release has a file — move or remove the folder on the target, then deploy again`,
        );
      }
    }

    // 2-3. Stage, verify, back up and journal. A failure before the journal changed nothing in the
    //      target: its staging and partial backup go at once (a full disk is freed before the report).
    let bytes: number;
    // Created folders are staged and renamed whole (one rename for a folder of any size, also over
    // SSH, where each file's rename is a record); a unit revealed whole stages file by file (unit-reveal.ts).
    const place = placeWrites(
      plan.writes,
      parents.missing,
      this.layout.stagingFor(this.deployId),
      !plan.revealUnits?.length,
    );
    try {
      bytes = await stageAndJournal(this.parts, plan, repo, parents.missing, newState, place, onProgress);
    } catch (error) {
      // A lost lock: the staging may be the new owner's business already.
      if (!isLockLost(error)) await dropLeftovers(this.parts, error);
      throw error;
    }
    return this.commit(plan, parents, newState, { bytes, noFiles, manifest, place }, onProgress);
  }

  /** Commit: from the journal on, a failure is undone at once (or by the next run). */
  private async commit(
    plan: TargetPlan,
    parents: Awaited<ReturnType<typeof checkParents>>,
    newState: TargetState,
    {
      bytes,
      noFiles,
      manifest,
      place,
    }: { bytes: number; noFiles: boolean; manifest: PendingManifest | null; place: Placement },
    onProgress?: (p: ApplyProgress) => void,
  ): Promise<ApplyResult> {
    const t = this.transport;
    const l = this.layout;
    const total = plan.writes.length;
    let done = 0;
    let recorded = false;
    // A walk kept for an echo: the written files' stats as the manifest records them are kept too.
    const echo = takeEcho(plan);
    const stats = echo ? new Map<string, FileStat>() : undefined;

    let reveal: Awaited<ReturnType<typeof revealUnits>> | null = null;
    // 4. Commit. A failure here (disk full, a link dropped) is undone at once from the backup, so the
    //    target does not wait for the next run to stop being a mix of two releases.
    try {
      // 4. Commit: deletes that stand in the way of new folders (a file the release turns into a
      //    folder), then folders the release turns into files (their files, then the emptied
      //    folders), then renames, then the other deletes.
      // No one of them is inside another (nothing below a file was looked at): one pass.
      const lanes = metadataConcurrency(t, this.concurrency);
      await forEachLimit(parents.replaced, lanes, (file) => t.unlink(file));
      // Folders inside a unit revealed whole come with the unit (`units.reveal: unit`); so does
      // the file that replaces a folder there (the unit is built without the folder).
      const revealed = (plan.revealUnits ?? []).map((u) => `${u.path}/`);
      const swaps = swappedFolders(plan).filter((f) => !revealed.some((u) => f.startsWith(u)));
      await clearSwappedFolders(t, plan, swaps);
      // The folders not staged whole (beside units revealed whole): mkdir -p of the deepest makes
      // the ones above, so they go in one pass.
      const whole = new Set(place.stagingDirs);
      const make = parents.missing.filter(
        (d) => !whole.has(d) && !revealed.some((u) => `${d}/`.startsWith(u)),
      );
      await forEachLimit(deepestFolders(make), lanes, (dir) => t.mkdirp(dir));
      // Created folders and the staged files, with the stats the manifest records.
      const tick = (files: number) => {
        if (files > 0) onProgress?.({ phase: 'commit', done: (done += files), total, bytes });
      };
      const placed = await this.placeFiles(plan, place, manifest !== null, tick);
      reveal = placed.reveal;
      const gone = await commitDeletes(t, plan.deletes, new Set(parents.replaced), lanes);
      onProgress?.({ phase: 'delete', done: gone, total: gone, bytes });
      // 5. Record the manifest and the state (record-release.ts), then drop the journal.
      await recordRelease(t, l, this.deployId, manifest, newState, this.concurrency, {
        keepStats: stats,
        written: placed.written,
      });
      recorded = true;
    } catch (error) {
      // The state names this deploy: the target holds the new release, whatever failed after.
      if (!recorded) recorded = await stateIsOurs(this.transport, this.layout, this.deployId);
      if (!recorded) {
        // Another deploy owns the target now: its recovery undoes ours, so we touch nothing more.
        if (isLockLost(error)) throw error;
        throw await undoFailedCommit(this.parts, error, plan.from);
      }
      this.log.warn(
        `${t.description}: release ${plan.to.slice(0, 12)} is in place and recorded, though writing its state reported an error (${describeError(error)})`,
      );
    }
    this.state = newState;
    // With the walk this plan made, as the target now is: the next deploy's echo (walk-echo-file.ts).
    await cleanUp(
      t,
      l,
      this.log,
      plan.to,
      newState,
      echo && stats && { plan, seed: echo, stats },
      this.census && { seen: this.census, made: this.deployId },
    );
    return { bytes, changed: !noFiles, state: newState, ...(reveal ? { swaps: reveal.swaps } : {}) };
  }

  /**
   * Step 4's renames: the folders created whole (staged-tree.ts; no root holds another, a root's
   * parent is not created) and the staged files, in one go with the stats the next manifest
   * records, its folders made meanwhile (rename-staged.ts: one turn over SSH); units revealed
   * whole (unit-reveal.ts) between the folders and the files. `tick` counts the files placed.
   */
  private async placeFiles(
    plan: TargetPlan,
    place: Placement,
    withStats: boolean,
    tick: (n: number) => void,
  ) {
    const t = this.transport;
    const staging = this.layout.stagingFor(this.deployId);
    const lanes = metadataConcurrency(t, this.concurrency);
    const folders = place.roots.map((root) => [place.tree(root), root] as const);
    let inTree = 0;
    for (let i = 0; i < plan.writes.length; i++) if (place.inTree(i)) inTree++;
    let reveal: Awaited<ReturnType<typeof revealUnits>> | null = null;
    const revealing = (plan.revealUnits?.length ?? 0) > 0;
    if (revealing) {
      await forEachLimit(folders, lanes, ([from, to]) => t.rename(from, to));
      tick(inTree);
      inTree = 0;
      reveal = await revealUnits(t, staging, plan, this.state?.manifest ?? null, this.concurrency);
    }
    const skip = (i: number) => reveal?.done.has(i) === true || place.inTree(i);
    const together = revealing ? [] : folders;
    const [written] = await Promise.all([
      renameStaged(t, plan.writes, { staging, skip, lanes, withStats, folders: together }, () => tick(1)),
      withStats && manifestFolders(t, this.layout),
    ]);
    tick(inTree);
    return { written, reveal };
  }

  /**
   * Undo the newest deploy (or the one named): restore its backup byte for byte and
   * record the release it replaced. Returns that release, or throws when no backup exists.
   */
  async rollback(
    deployId?: string,
  ): Promise<{ restored: string | null; deployId: string; restoredPaths: string[]; removedPaths: string[] }> {
    const {
      restored,
      deployId: id,
      state,
      restoredPaths,
      removedPaths,
    } = await rollbackTarget(this.parts, deployId);
    this.state = state;
    return { restored, deployId: id, restoredPaths, removedPaths };
  }
  /**
   * `units`: put only these units back to their files before this deploy (from its
   * backup); the state records them as held back (apply/unit-rollback.ts).
   */
  async rollbackUnits(
    units: ReadonlyArray<{ name: string; path: string }>,
    reveal: boolean,
  ): Promise<UnitRollbackResult> {
    // A state this run recorded names its manifest only: the unit rollback needs its files.
    if (this.state) this.state = await loadManifest(this.transport, this.layout, this.state);
    const r = await rollbackUnitFiles(this.parts, units, reveal);
    this.state = r.state;
    return r;
  }

  /**
   * A command ran on this machine for this target (a hook's or a unit's `run`): it may have
   * changed the state folder, so the clean-up lists it again (a `remote` one is seen by the
   * fenced transport).
   */
  commandRan(): void {
    this.census = null;
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
