/**
 * The rollout (SPEC §4): targets in listed order, split into waves, up to
 * `max-parallel` at once inside a wave. Past `max-failures` no further wave
 * starts. A cancellation (SIGINT/SIGTERM through `signal`, or the rollout
 * timeout) starts nothing new; targets in flight roll back and run `after`.
 */
import type { ResolvedConfig } from '../config/types.js';
import { resolveRelease } from '../diff/diff-releases.js';
import { GitObjects } from '../diff/git-objects.js';
import { buildRelease } from '../diff/build-release.js';
import { join } from 'node:path';
import type { Logger } from '../log.js';
import { maskingLogger, silentLogger } from '../log.js';
import type { Report, RolloutStatus, TargetReport } from '../report/types.js';
import { newDeployId } from '../apply/session.js';
import { mapLimit } from '../pool.js';
import { maxFailuresReached } from './waves.js';
import { parseSelectors, selectTargets } from './select.js';
import { TargetRun } from './run-target.js';
import { WorkDir } from './work-dir.js';
import type { RolloutEvent } from './events.js';
import { checkWaves, createBalancer, type Balancer } from '../balancer/index.js';
import { WaveControls } from './wave-controls.js';

export interface RolloutOptions {
  config: ResolvedConfig;
  /** Repository folder (default "."). */
  repo?: string;
  /** The release to ship: any ref git resolves (default HEAD). */
  to?: string;
  command?: 'deploy' | 'plan' | 'rollback';
  /** Names and `label:x` selectors (default: every target). */
  targets?: string | readonly string[];
  /** `deploy --dry-run` equals `plan`. */
  dryRun?: boolean;
  /** Abort to cancel: nothing new starts, targets in flight roll back. */
  signal?: AbortSignal;
  log?: Logger;
  onEvent?: (e: RolloutEvent) => void;
  deployId?: string;
  /**
   * A built release: this folder's files (hashed into git objects, see
   * diff/build-release.ts) instead of `to`. The release id is its tree id.
   */
  dir?: string;
  /** What reports and `{release}` call the release (default: the ref, or the folder). */
  releaseName?: string;
  /** Plan from each target's manifest even when its recorded commit is known. */
  fromManifest?: boolean;
  /** Ignore each target's recorded release: plan as a first deploy (a deliberate full redeploy). */
  assumeEmpty?: boolean;
}

/**
 * Plan, deploy or roll back a fleet. Never throws for a failing target (the
 * report says so); throws DiffshipError for problems found before anything was
 * written: a bad ref, an unknown target selector.
 *
 * @example
 * const config = await loadConfig('diffship.yml');
 * const report = await rollout({ config, to: 'v1.4.0' });
 * if (report.status !== 'succeeded') process.exitCode = 1;
 */
export async function rollout(options: RolloutOptions): Promise<Report> {
  const config = options.config;
  const command = options.dryRun ? 'plan' : (options.command ?? 'deploy');
  let repo = options.repo ?? '.';
  const ref = options.releaseName ?? options.dir ?? options.to ?? 'HEAD';
  const log = maskingLogger(options.log ?? silentLogger, config.secrets);
  const emit = (e: RolloutEvent) => options.onEvent?.(e);
  const deployId = options.deployId ?? newDeployId();
  const startedAt = new Date().toISOString();

  const selected = selectTargets(config.targets, parseSelectors(options.targets));
  let to = '';
  if (command !== 'rollback' && options.dir !== undefined) {
    // A built folder becomes a tree (in the repository, or a private store next to the config).
    const built = await buildRelease({
      dir: options.dir,
      repo,
      cacheDir: join(config.baseDir, '.diffship-cache'),
    });
    repo = built.repo;
    to = built.tree;
  }
  // One git process answers every lookup of the run: the ref, each target's diff, the blobs.
  const objects = new GitObjects(repo);
  if (command !== 'rollback' && options.dir === undefined)
    to = await resolveUpFront(repo, options.to ?? 'HEAD', objects);
  // min-healthy may reorder the targets (unhealthy first) and refuse to start.
  const controls = new WaveControls({ config, deployId, to, command, log });
  const waves = await controls.plan(selected, options.signal ?? new AbortController().signal);
  let balancer: Balancer | undefined;
  if (config.balancer && command !== 'plan' && controls.refused === null) {
    // Refuse a wave that drains every server before anything is written (exit 2).
    balancer = createBalancer(config.balancer, config.baseDir, log);
    try {
      await checkWaves(balancer, waves, options.signal);
    } catch (error) {
      objects.close();
      await balancer.close();
      throw error;
    }
  }
  const waveNames = waves.map((w) => w.map((t) => t.name));
  emit({ type: 'start', deployId, to, waves: waveNames, command });

  const stop = new RolloutStop(options.signal, config.timeoutMs, () =>
    emit({ type: 'halt', reason: `rollout timeout reached` }),
  );
  const controller = stop.controller;

  const ctx = {
    // A built folder is the release's root: the config's `source` (a folder of the repository) does not apply.
    config: options.dir !== undefined ? { ...config, source: '.' } : config,
    repo,
    to,
    releaseName: options.releaseName,
    fromManifest: options.fromManifest,
    assumeEmpty: options.assumeEmpty,
    deployId,
    command,
    workDir: new WorkDir(),
    objects,
    balancer,
    signal: controller.signal,
    log,
    emit,
  } as const;
  const runs = waves.map((wave, w) => wave.map((t) => new TargetRun(t, w, ctx)));
  const done: TargetRun[] = [];
  let failed = 0;
  let halted = controls.refused !== null;
  /** Why the rollout stopped other than max-failures (a refusal, a hook, a bake). */
  let stopped: string | null = controls.refused;
  if (stopped !== null) emit({ type: 'halt', reason: stopped });

  try {
    if (!halted && !(await controls.beforeRollout(controller.signal))) {
      halted = true;
      stopped = 'before-rollout failed';
    }
    for (const [w, wave] of runs.entries()) {
      if (halted || controller.signal.aborted) break;
      stopped = await controls.beforeWave(w, controller.signal);
      if (stopped !== null) {
        halted = true;
        emit({ type: 'halt', reason: stopped });
        break;
      }
      emit({ type: 'wave-start', wave: w, targets: wave.map((r) => r.target.name) });
      await mapLimit(wave, config.maxParallel, async (run) => {
        if (controller.signal.aborted || halted) return;
        const report = await run.run();
        done.push(run);
        emit({ type: 'target-end', target: report });
        // A rolled-back deploy failed; a rolled-back target is what `rollback` is for.
        if (report.status === 'failed' || (report.status === 'rolled-back' && command !== 'rollback')) {
          failed++;
          if (maxFailuresReached(failed, selected.length, config.maxFailures)) halted = true;
        }
      });
      emit({ type: 'wave-end', wave: w });
      // Targets undone by a cancellation are not why the rollout stops: say so only for real failures.
      if (halted && !controller.signal.aborted)
        emit({ type: 'halt', reason: `${failed} target(s) failed, past max-failures` });
      const after = await controls.afterWave(w, wave, failed, controller.signal);
      failed += after.bakeFailed;
      if (after.halt !== null && !halted) {
        halted = true;
        stopped = after.halt;
        emit({ type: 'halt', reason: after.halt });
      }
    }
    // rollback: all — undo every target this rollout changed, newest first.
    if (command === 'deploy' && config.rollback === 'all' && (failed > 0 || controller.signal.aborted)) {
      for (const run of [...done].reverse()) {
        if (run.report.status === 'deployed') await run.undo();
      }
    }
    const result = controller.signal.aborted ? 'cancelled' : failed > 0 || halted ? 'failed' : 'succeeded';
    const deployed = done.filter((r) => r.report.status === 'deployed').length;
    await controls.afterRollout(result, failed, deployed);
  } finally {
    objects.close();
    stop.dispose();
    ctx.workDir.remove();
    await balancer?.close();
  }

  const targets: TargetReport[] = runs.flat().map((r) => r.report);
  explainNotStarted(targets, stop, stopped);
  const status = rolloutStatus(command, targets, failed, stop, stopped !== null || controls.anyFailed);

  return {
    version: 1,
    deployId,
    command,
    status,
    to,
    ref,
    ...(options.dir !== undefined ? { dir: options.dir } : {}),
    mode: config.mode,
    startedAt,
    finishedAt: new Date().toISOString(),
    waves: waveNames,
    targets,
    ...(controls.steps.length > 0 ? { rollout: controls.steps } : {}),
  };
}

/** Resolve the ref once, up front (fetching it in a shallow clone): a bad ref fails before any target. */
async function resolveUpFront(repo: string, ref: string, objects: GitObjects): Promise<string> {
  try {
    return await resolveRelease(repo, ref, { objects });
  } catch (error) {
    objects.close();
    throw error;
  }
}

/** One signal for everything: the caller's cancellation, or the rollout timeout. */
class RolloutStop {
  readonly controller = new AbortController();
  cancelled = false;
  timedOut = false;
  private readonly timer: NodeJS.Timeout;
  private readonly onAbort = () => {
    this.cancelled = true;
    this.controller.abort();
  };

  constructor(
    private readonly signal: AbortSignal | undefined,
    timeoutMs: number,
    onTimeout: () => void,
  ) {
    if (signal?.aborted) this.onAbort();
    signal?.addEventListener('abort', this.onAbort, { once: true });
    this.timer = setTimeout(() => {
      this.timedOut = true;
      onTimeout();
      this.controller.abort();
    }, timeoutMs);
    this.timer.unref();
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.signal?.removeEventListener('abort', this.onAbort);
  }
}

/** Why a target that never ran was skipped. */
function explainNotStarted(targets: TargetReport[], stop: RolloutStop, stopped: string | null): void {
  for (const t of targets) {
    if (t.status === 'skipped' && t.steps.length === 0) {
      t.error ??= stop.cancelled
        ? 'cancelled before it started'
        : stop.timedOut
          ? 'rollout timed out before it started'
          : stopped !== null
            ? `not started: ${stopped}`
            : 'not started: max-failures reached';
    }
  }
}

function rolloutStatus(
  command: string,
  targets: TargetReport[],
  failed: number,
  stop: RolloutStop,
  /** A refusal, a failed rollout/wave hook or bake stopped the rollout. */
  controlsFailed: boolean,
): RolloutStatus {
  if (stop.cancelled) return 'cancelled';
  const anyFailed = targets.some((t) => t.status === 'failed');
  if (command === 'plan') return anyFailed ? 'failed' : 'planned';
  return failed > 0 || stop.timedOut || controlsFailed || anyFailed ? 'failed' : 'succeeded';
}

export { status, type TargetStatusInfo } from './status.js';
