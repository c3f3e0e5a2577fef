/**
 * The rollout (SPEC §4): targets in listed order, split into waves, up to
 * `max-parallel` at once inside a wave. Past `max-failures` no further wave
 * starts. A cancellation (SIGINT/SIGTERM through `signal`, or the rollout
 * timeout) starts nothing new; targets in flight roll back and run `after`.
 */
import type { ResolvedConfig } from '../config/types.js';
import { resolveRelease } from '../diff/diff-releases.js';
import { GitObjects } from '../diff/git-objects.js';
import {
  checkOutsideLinks,
  describeOutsideLinks,
  findOutsideLinks,
  type OutsideLink,
} from '../plan/outside-links.js';
import type { Logger } from '../log.js';
import { maskingLogger, silentLogger } from '../log.js';
import type { Report, RolloutStatus, TargetReport } from '../report/types.js';
import { newDeployId } from '../apply/session.js';
import { mapLimit } from '../pool.js';
import { maxFailuresReached, splitWaves } from './waves.js';
import { parseSelectors, selectTargets } from './select.js';
import { TargetRun } from './run-target.js';
import { WorkDir } from './work-dir.js';
import type { RolloutEvent } from './events.js';

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
  const repo = options.repo ?? '.';
  const ref = options.to ?? 'HEAD';
  const log = maskingLogger(options.log ?? silentLogger, config.secrets);
  const emit = (e: RolloutEvent) => options.onEvent?.(e);
  const deployId = options.deployId ?? newDeployId();
  const startedAt = new Date().toISOString();

  const selected = selectTargets(config.targets, parseSelectors(options.targets));
  // One git process answers every lookup of the run: the ref, each target's diff, the blobs.
  const objects = new GitObjects(repo);
  let to = '';
  let outsideLinks: OutsideLink[] = [];
  try {
    // Resolve the ref once, up front (fetching it in a shallow clone): a bad ref fails before any target.
    if (command !== 'rollback') to = await resolveRelease(repo, ref, { objects });
    if (command !== 'rollback') {
      outsideLinks = await findOutsideLinks(objects, to, {
        repo,
        source: config.source,
        include: config.include,
        exclude: config.exclude,
      });
      checkOutsideLinks(outsideLinks, config.symlinks);
      if (outsideLinks.length > 0)
        log.warn(`${describeOutsideLinks(outsideLinks)} (shipped as git holds them)`);
    }
  } catch (error) {
    objects.close();
    throw error;
  }
  const waves = splitWaves(selected, config.waves);
  const waveNames = waves.map((w) => w.map((t) => t.name));
  emit({ type: 'start', deployId, to, waves: waveNames });

  // One signal for everything: the caller's cancellation, or the rollout timeout.
  const controller = new AbortController();
  let cancelled = false;
  let timedOut = false;
  const onAbort = () => {
    cancelled = true;
    controller.abort();
  };
  if (options.signal?.aborted) onAbort();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  const timer = setTimeout(() => {
    timedOut = true;
    emit({ type: 'halt', reason: `rollout timeout reached` });
    controller.abort();
  }, config.timeoutMs);
  timer.unref();

  const ctx = {
    config,
    repo,
    to,
    deployId,
    command,
    workDir: new WorkDir(),
    objects,
    outsideLinks,
    signal: controller.signal,
    log,
    emit,
  } as const;
  const runs = waves.map((wave, w) => wave.map((t) => new TargetRun(t, w, ctx)));
  const done: TargetRun[] = [];
  let failed = 0;
  let halted = false;

  try {
    for (const [w, wave] of runs.entries()) {
      if (halted || controller.signal.aborted) break;
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
    }
    // rollback: all — undo every target this rollout changed, newest first.
    if (command === 'deploy' && config.rollback === 'all' && (failed > 0 || controller.signal.aborted)) {
      for (const run of [...done].reverse()) {
        if (run.report.status === 'deployed') await run.undo();
      }
    }
  } finally {
    objects.close();
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', onAbort);
    ctx.workDir.remove();
  }

  const targets: TargetReport[] = runs.flat().map((r) => r.report);
  for (const t of targets) {
    if (t.status === 'skipped' && t.steps.length === 0) {
      t.error ??= cancelled
        ? 'cancelled before it started'
        : timedOut
          ? 'rollout timed out before it started'
          : 'not started: max-failures reached';
    }
  }
  let status: RolloutStatus;
  if (cancelled) status = 'cancelled';
  else if (command === 'plan') status = targets.some((t) => t.status === 'failed') ? 'failed' : 'planned';
  else status = failed > 0 || timedOut || targets.some((t) => t.status === 'failed') ? 'failed' : 'succeeded';

  return {
    version: 1,
    deployId,
    command,
    status,
    to,
    ref,
    mode: config.mode,
    startedAt,
    finishedAt: new Date().toISOString(),
    waves: waveNames,
    targets,
  };
}

export { status, type StatusOptions, type TargetStatusInfo } from './status.js';
