/**
 * Preflight (issue 11): before wave 1 writes a byte anywhere, every selected
 * target is checked — reachable, not a dangerous folder, state readable, lock
 * free (or stale), and its plan not blocked by drift (per `on-drift` and
 * `drift-scope`). One failing target stops the whole rollout, so
 * a drifted host in wave 2 no longer leaves the fleet on two releases.
 * Read-only: no lock is taken, nothing is created.
 */
import os from 'node:os';
import path from 'node:path';
import type { ResolvedConfig, TargetConfig } from '../config/types.js';
import { dangerousRoot } from '../transport/dangerous-root.js';
import { DiffshipError, describeError } from '../errors.js';
import type { Logger } from '../log.js';
import { maskSecrets } from '../log.js';
import type { GitObjects } from '../diff/git-objects.js';
import { TargetSession } from '../apply/session.js';
import { readState } from '../apply/state.js';
import { lockedMessage, readLock, staleReason } from '../apply/lock.js';
import { createTransport } from '../transport/factory.js';
import type { Transport } from '../transport/transport.js';
import { closeOnAbort } from './hard-stop.js';
import { mapLimit } from '../pool.js';
import type { TargetChanges, TargetReport } from '../report/types.js';
import type { KeptTransports } from './kept-transports.js';
import type { KeptPlans } from './kept-plans.js';
import type { EarlyLook } from './early-look.js';

export interface PreflightContext {
  config: ResolvedConfig;
  repo: string;
  /** The release about to be shipped. */
  to: string;
  objects: GitObjects;
  log: Logger;
  signal: AbortSignal;
  /** `--from-manifest` / `--assume-empty`: plans start where the deploy's will. */
  fromManifest?: boolean;
  assumeEmpty?: boolean;
  /** Where a target that passes leaves its connection for its deploy (when that one wants it). */
  kept?: KeptTransports;
  /** Where a target that passes leaves its plan for its deploy (kept-plans.ts). */
  keptPlans?: KeptPlans;
  /** Connections started before the release was read (early-connect.ts): taken here by target name. */
  early?: { take(name: string): { transport: Transport; look?: EarlyLook } | undefined };
}

/** Why a target failed preflight; with the plan's change set (and drift) when it got that far. */
export interface PreflightFailure {
  reason: string;
  /** The error's code (E_STATE, E_LOCK, …) when it had one. */
  code?: string;
  from?: string | null;
  changes?: TargetChanges;
  driftChecked?: TargetReport['driftChecked'];
}

/** Check every target; returns the failing ones by name (empty: all clear). */
export async function preflight(
  targets: readonly TargetConfig[],
  ctx: PreflightContext,
): Promise<Map<string, PreflightFailure>> {
  const failures = new Map<string, PreflightFailure>();
  await mapLimit(targets, ctx.config.maxParallel, async (target) => {
    if (ctx.signal.aborted) return;
    const failure = await checkTarget(target, ctx).catch((error: unknown): PreflightFailure => ({
      reason: describeError(error),
      ...(error instanceof DiffshipError ? { code: error.code } : {}),
    }));
    // Cut short by a cancellation: not a finding about the target (the rollout starts nothing).
    if (failure !== null && !ctx.signal.aborted)
      failures.set(target.name, { ...failure, reason: maskSecrets(failure.reason, ctx.config.secrets) });
  });
  return failures;
}

/** One target's checks, in the order a deploy meets them; null when it may go ahead. */
async function checkTarget(target: TargetConfig, ctx: PreflightContext): Promise<PreflightFailure | null> {
  const danger = dangerousFolder(target);
  if (danger) return { reason: danger };
  const { config } = ctx;
  const early = ctx.early?.take(target.name);
  const transport = early?.transport ?? createTransport(target, ctx.log);
  // Before the target is first looked at (its early look too): a rechecked plan vouches only for
  // paths older than this.
  const planStartMs = Math.min(Date.now(), early?.look?.since ?? Infinity);
  let passed = false;
  // Read-only: a cancellation closes the connection at once (a stalled host cannot hold it);
  // it stops listening before the connection may be handed on to its deploy.
  const stopListening = closeOnAbort(transport, ctx.signal);
  const session = await TargetSession.open({
    transport,
    stateDir: config.stateDir,
    command: 'preflight',
    readOnly: true,
    lookedAhead: early?.look?.seen,
    // Recorded ids must have the repository's length, as the deploy itself will demand.
    idLength: ctx.to.length === 40 || ctx.to.length === 64 ? ctx.to.length : undefined,
    objects: ctx.objects,
    log: ctx.log,
    signal: ctx.signal,
  });
  try {
    const lock = await readLock(session.transport, session.layout);
    if (lock && staleReason(lock) === null) {
      return {
        reason: lockedMessage(session.transport.description, lock, target.name),
      };
    }
    // An interrupted run's files are half in place: its deploy recovers first, then plans and
    // checks drift itself. Judged now, they would read as drift and stop the fleet.
    if (session.pendingRecovery) {
      passed = true;
      return null;
    }
    const plan = await session.plan({
      repo: ctx.repo,
      to: ctx.to,
      source: config.source,
      include: config.include,
      exclude: config.exclude,
      renames: config.renames,
      mode: config.mode,
      protect: config.protect,
      onDrift: config.onDrift,
      driftScope: config.driftScope,
      maxDeletes: config.maxDeletes,
      fromManifest: ctx.fromManifest,
      assumeEmpty: ctx.assumeEmpty,
    });
    // Drift stops the fleet; max-deletes stays the target's own plan failure.
    if (plan.blocked?.code !== 'E_DRIFT') {
      passed = true;
      // A missing folder's too: its deploy takes it only if the folder it creates holds nothing yet.
      await ctx.keptPlans?.offer(
        target.name,
        plan,
        session.state,
        session.transport,
        planStartMs,
        session.missing,
      );
      return null;
    }
    // Another run's deploy since this look began (preflight holds no lock) explains what looked
    // like drift: its deploy judges the target again under its own lock.
    if (await movedSince(session)) {
      passed = true;
      return null;
    }
    return {
      reason: plan.blocked.message,
      from: session.state?.release ?? null,
      changes: plan.changes,
      driftChecked: plan.driftChecked,
    };
  } finally {
    stopListening();
    // A target that passed may hand its connection on to its deploy; for a missing folder, the
    // connection itself (not the read-only stand-in): the deploy creates the folder over it.
    if (!(passed && ctx.kept?.offer(target.name, transport))) await session.close();
  }
}

/** Whether another run holds the lock now, or recorded another deploy, since `session` read the state. */
async function movedSince(session: TargetSession): Promise<boolean> {
  if ((await readLock(session.transport, session.layout)) !== null) return true;
  const now = await readState(session.transport, session.layout).catch(() => undefined);
  return now === undefined || (now?.deployId ?? null) !== (session.state?.deployId ?? null);
}

/** The same roots the config refuses, checked again on the folder the target resolves to. */
export function dangerousFolder(target: TargetConfig): string | undefined {
  if (target.type === 'ssh') return dangerousRoot(path.posix.normalize(target.path), []);
  return dangerousRoot(path.resolve(target.path), [os.homedir()], path.sep === '/');
}
