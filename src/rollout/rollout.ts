/**
 * The rollout (SPEC §4): targets in listed order, split into waves, up to
 * `max-parallel` at once inside a wave. Past `max-failures` no further wave
 * starts. A cancellation (SIGINT/SIGTERM through `signal`, or the rollout
 * timeout) starts nothing new; targets in flight roll back and run `after`.
 */
import type { ResolvedConfig, TargetConfig } from '../config/types.js';
import type { Logger } from '../log.js';
import { maskingLogger, silentLogger } from '../log.js';
import type { Report, TargetReport } from '../report/types.js';
import { newDeployId } from '../apply/deploy-id.js';
import { parseSelectors, selectTargets } from './select.js';
import { TargetRun } from './run-target.js';
import type { TargetRunContext } from './target-steps.js';
import { WorkDir } from './work-dir.js';
import type { RolloutEvent } from './events.js';
import { checkWaves, createBalancer, type Balancer } from '../balancer/index.js';
import { WaveControls } from './wave-controls.js';
import { openRelease, type OpenedRelease, type StartedRelease } from './open-release.js';
import { runWaves } from './run-waves.js';
import { explainNotStarted, rolloutStatus, RolloutStop } from './stop.js';
import { HardStop, InFlight } from './hard-stop.js';
import { KeptTransports } from './kept-transports.js';
import { KeptPlans } from './kept-plans.js';
import { EarlyConnections } from './early-connect.js';
import { EarlyPreflight } from './early-preflight.js';
import { warmDeployGit } from '../diff/warm-git.js';
import { listingMemory } from '../diff/spilled-chunks.js';
import { followCaller } from '../cancelled.js';
import type { OutsideLink } from '../plan/outside-links.js';
import { plainChanges } from '../plan/path-view.js';
import { detachedCopy } from './detached-copy.js';

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
 * The release read and the waves planned, while `early` connects (closed if this fails).
 * Where the waves need no look at the targets, preflight starts as soon as the release is
 * resolved, alongside its checks (early-preflight.ts); it is discarded if they fail.
 */
async function prepare(
  options: RolloutOptions,
  { command, log, deployId }: { command: 'deploy' | 'plan' | 'rollback'; log: Logger; deployId: string },
  selected: TargetConfig[],
  early: EarlyConnections,
) {
  const config = options.config;
  let started: EarlyPreflight | undefined;
  let opened: StartedRelease | undefined;
  let dropWarm = () => {};
  try {
    // The release's git processes start once the SSH hosts work on their own (early-connect.ts).
    if (early.dialling) await early.hostsAtWork();
    opened = await openRelease({ ...options, config, log, command, repo: options.repo ?? '.' });
    const release = { ...opened, outsideLinks: [] as OutsideLink[] };
    // While the handshakes run: the git processes an SSH update asks for once its target answered.
    if (early.dialling) {
      const { source, renames } = preflightContext(options, release, log).config;
      dropWarm = warmDeployGit(release.repo, { source, renames, release });
    }
    const controls = new WaveControls({ config, deployId, to: release.to, command, log });
    const plan = () => planWaves(controls, selected, release, { config, command, log }, options.signal);
    const soon = EarlyPreflight.wanted(config, command) ? await plan() : undefined;
    const kept = soon && keptFor(soon.waves, config);
    if (soon && kept)
      started = EarlyPreflight.start(
        selected,
        { ...preflightContext(options, release, log), ...kept, early },
        options.signal,
      );
    release.outsideLinks = await opened.checked;
    const planned = soon ?? (await plan());
    return {
      release,
      controls,
      ...planned,
      ...(kept || keptFor(planned.waves, config)),
      preflight: started,
      dropWarm,
    };
  } catch (error) {
    dropWarm();
    await started?.discard();
    opened?.objects.close();
    await early.closeAll();
    throw error;
  }
}

/** Where preflight leaves each first-wave target's connection and plan for its deploy. */
function keptFor(waves: readonly (readonly TargetConfig[])[], config: ResolvedConfig) {
  return {
    kept: KeptTransports.firstWave(waves, config.maxParallel),
    keptPlans: KeptPlans.forRollout(waves, config),
  };
}

/** What preflight plans with: the release as the deploys will ship it. */
function preflightContext(options: RolloutOptions, release: OpenedRelease, log: Logger) {
  return {
    // A built folder is the release's root: the config's `source` (a folder of the repository) does not apply.
    config: options.dir !== undefined ? { ...options.config, source: '.' } : options.config,
    repo: release.repo,
    to: release.to,
    objects: release.objects,
    log,
    fromManifest: options.fromManifest,
    assumeEmpty: options.assumeEmpty,
  };
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
  // A bad DIFFSHIP_LISTING_MEMORY is refused before anything starts, whether or not this
  // rollout builds a listing (a first deploy does; an update may not).
  listingMemory();
  const caller = followCaller(options.signal);
  try {
    return await rolloutFollowing({ ...options, signal: caller.signal });
  } finally {
    caller.dispose();
  }
}

/** rollout(), with the caller's signal already followed (followCaller). */
async function rolloutFollowing(options: RolloutOptions): Promise<Report> {
  const config = options.config;
  const command = options.dryRun ? 'plan' : (options.command ?? 'deploy');
  const log = maskingLogger(options.log ?? silentLogger, config.secrets);
  const inFlight = new InFlight();
  const emit = inFlight.tee(options.onEvent);
  const deployId = options.deployId ?? newDeployId();
  const startedAt = new Date().toISOString();

  const selected = selectTargets(config.targets, parseSelectors(options.targets));
  // Handshakes and remote shell starts overlap with reading the release (git) instead of following it.
  const early = EarlyConnections.start(selected, { config, command, log, signal: options.signal });
  // One turn first: the TCP connects go out before a git process start blocks this thread.
  if (early.dialling) await new Promise<void>((resolve) => setImmediate(resolve));
  const prepared = await prepare(options, { command, log, deployId }, selected, early);
  const { release, controls, waves, balancer } = prepared;
  const { to, objects } = release;
  const waveNames = waves.map((w) => w.map((t) => t.name));
  emit({ type: 'start', deployId, to, waves: waveNames, command });

  const stop = new RolloutStop(options.signal, config.timeoutMs, () =>
    emit({ type: 'halt', reason: `rollout timeout reached` }),
  );
  // The caller's cancellation (SIGTERM) ends the rollout within seconds, whatever hangs (hard-stop.ts).
  const hard = new HardStop(options.signal);
  // Preflight, if it started with the release checks, stops with the rollout too (its timeout).
  prepared.preflight?.follow(stop.controller.signal);
  const ctx: TargetRunContext = {
    ...preflightContext(options, release, log),
    releaseName: options.releaseName,
    deployId,
    command,
    workDir: new WorkDir(),
    balancer,
    outsideLinks: release.outsideLinks,
    signal: stop.controller.signal,
    force: hard.force.signal,
    emit,
    kept: prepared.kept,
    keptPlans: prepared.keptPlans,
    early,
  };
  const runs = waves.map((wave, w) => wave.map((t) => new TargetRun(t, w, ctx)));
  let outcome;
  let gaveUp = false;
  try {
    const going = runWaves(runs, ctx, controls, selected.length, prepared.preflight);
    const waited = await Promise.race([going, hard.giveUp]);
    gaveUp = waited === 'gave-up';
    outcome = waited === 'gave-up' ? { failed: inFlight.steps.size, stopped: null, done: [] } : waited;
  } finally {
    hard.dispose();
    await early.closeAll();
    await ctx.kept?.closeAll();
    objects.close();
    prepared.dropWarm();
    stop.dispose();
    ctx.workDir.remove();
    await balancer?.close();
  }

  // Given up on: a copy, which the targets still winding down in the background no longer change.
  const targets: TargetReport[] = runs
    .flat()
    .map((r) => (gaveUp ? detachedCopy({ ...r.report, changes: plainChanges(r.report.changes) }) : r.report));
  if (gaveUp) inFlight.markAbandoned(targets);
  explainNotStarted(targets, stop, outcome.stopped);
  const controlsFailed = outcome.stopped !== null || controls.anyFailed;
  return {
    version: 1,
    deployId,
    command,
    status: rolloutStatus(command, targets, outcome.failed, stop, controlsFailed),
    to,
    ref: options.releaseName ?? options.dir ?? options.to ?? 'HEAD',
    ...(options.dir !== undefined ? { dir: options.dir } : {}),
    mode: config.mode,
    startedAt,
    finishedAt: new Date().toISOString(),
    waves: waveNames,
    targets,
    ...(controls.steps.length > 0 ? { rollout: controls.steps } : {}),
  };
}

/**
 * The waves, after min-healthy (which may reorder the targets, unhealthy first, or
 * refuse to start); with a balancer, a wave that would drain every server is
 * refused before anything is written (exit 2).
 */
async function planWaves(
  controls: WaveControls,
  selected: TargetConfig[],
  release: OpenedRelease,
  { config, command, log }: Pick<TargetRunContext, 'config' | 'command' | 'log'>,
  signal: AbortSignal | undefined,
): Promise<{ waves: TargetConfig[][]; balancer: Balancer | undefined }> {
  let balancer: Balancer | undefined;
  try {
    const waves = await controls.plan(selected, signal ?? new AbortController().signal);
    if (config.balancer && command !== 'plan' && controls.refused === null) {
      balancer = createBalancer(config.balancer, config.baseDir, log);
      await checkWaves(balancer, waves, signal);
    }
    return { waves, balancer };
  } catch (error) {
    release.objects.close();
    await balancer?.close();
    throw error;
  }
}

export { status, type TargetStatusInfo } from './status.js';
