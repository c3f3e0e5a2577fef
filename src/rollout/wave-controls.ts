/**
 * The rollout's controls around its waves, as one object the orchestrator
 * calls at fixed points: min-healthy before wave 1 (order and gate), the
 * rollout/wave hooks, the bake after each wave, the healthy count between
 * waves. The pieces themselves are in around-waves.ts.
 */
import type { TargetConfig } from '../config/types.js';
import type { RolloutStepReport } from '../report/types.js';
import {
  aroundHook,
  bakeWave,
  belowMinHealthy,
  healthGate,
  unhealthyFirst,
  type AroundContext,
} from './around-waves.js';
import type { TargetRun } from './run-target.js';
import { splitWaves } from './waves.js';

/** The bounded time hooks get after a cancellation, like a target's `after`. */
const CLEANUP_MS = 120_000;

export class WaveControls {
  readonly steps: RolloutStepReport[] = [];
  private readonly around: AroundContext;
  private unhealthy = new Set<string>();
  /** Why the rollout must not start (or go on), once known. */
  refused: string | null = null;
  private targets: readonly TargetConfig[] = [];
  private waves: readonly (readonly TargetConfig[])[] = [];
  private deployed = 0;
  private failed = 0;

  constructor(around: Omit<AroundContext, 'steps'>) {
    this.around = { ...around, steps: this.steps };
  }

  private get minHealthy() {
    return this.around.command === 'deploy' ? this.around.config.minHealthy : undefined;
  }

  private get hooks() {
    return this.around.command === 'plan' ? {} : (this.around.config.rolloutHooks ?? {});
  }

  /** Order and split the targets; with min-healthy, probe them first (unhealthy go first; refuse when too few). */
  async plan(selected: readonly TargetConfig[], signal: AbortSignal): Promise<TargetConfig[][]> {
    let ordered = [...selected];
    const min = this.minHealthy;
    if (min) {
      const gate = await healthGate(this.around, selected, signal);
      this.unhealthy = gate.unhealthy;
      ordered = unhealthyFirst(selected, this.unhealthy);
      if (!gate.ok)
        this.refused = `fewer targets healthy than min-healthy: ${this.steps.at(-1)!.detail.split('\n')[0]}`;
    }
    const waves = splitWaves(ordered, this.around.config.waves);
    if (min && this.refused === null) {
      // Each wave as planned: once deployed, its targets count as healthy for the next one.
      const simulated = new Set(this.unhealthy);
      for (const [w, wave] of waves.entries()) {
        const names = wave.map((t) => t.name);
        this.refused ??= belowMinHealthy(min, ordered.length, simulated, names, w + 1);
        for (const name of names) simulated.delete(name);
      }
    }
    this.targets = ordered;
    this.waves = waves;
    return waves;
  }

  private env(result: string, w?: number) {
    return {
      waves: this.waves.length,
      targets: this.targets.map((t) => t.name),
      result,
      deployed: this.deployed,
      failed: this.failed,
      ...(w !== undefined ? { wave: w + 1, waveTargets: this.waves[w]!.map((t) => t.name) } : {}),
    };
  }

  /** `before-rollout`; false: start no wave. */
  beforeRollout(signal: AbortSignal): Promise<boolean> {
    return aroundHook(this.around, 'before-rollout', this.hooks.beforeRollout, this.env('running'), signal);
  }

  /** Null when wave `w` may start, else why not (min-healthy, or `before-wave` failed). */
  async beforeWave(w: number, signal: AbortSignal): Promise<string | null> {
    const min = this.minHealthy;
    const names = this.waves[w]!.map((t) => t.name);
    const below = min ? belowMinHealthy(min, this.targets.length, this.unhealthy, names, w + 1) : null;
    if (below !== null) {
      this.refused = below;
      return below;
    }
    const ok = await aroundHook(
      this.around,
      'before-wave',
      this.hooks.beforeWave,
      this.env('running', w),
      signal,
    );
    return ok ? null : `before-wave of wave ${w + 1} failed`;
  }

  /**
   * After wave `w`'s targets finished: bake the deployed ones (failing ones
   * are marked failed and, unless `rollback: none`, rolled back), update the
   * healthy count, run `after-wave`. Returns why the rollout stops, or null,
   * and how many targets the bake failed.
   */
  async afterWave(
    w: number,
    runs: readonly TargetRun[],
    failedSoFar: number,
    signal: AbortSignal,
  ): Promise<{ halt: string | null; bakeFailed: number }> {
    const { config, command } = this.around;
    let halt: string | null = null;
    let bakeFailed = 0;
    const deployed = runs.filter((r) => r.report.status === 'deployed');
    if (config.bake && command === 'deploy' && deployed.length > 0 && !signal.aborted) {
      const bad = await bakeWave(
        this.around,
        w + 1,
        deployed.map((r) => r.target),
        signal,
      );
      const detail = this.steps.at(-1)!.detail.split('\n');
      for (const run of deployed.filter((r) => bad.has(r.target.name))) {
        const line = detail.find((l) => l.startsWith('probe ') && l.includes(` ${run.target.name}: `));
        run.report.status = 'failed';
        run.report.error = `bake: ${line ?? 'failed'}`;
        bakeFailed++;
        if (config.rollback !== 'none') await run.undo();
      }
      if (bad.size > 0) halt = `wave ${w + 1} failed its bake`;
    }
    for (const r of runs) {
      if (r.report.status === 'deployed') this.unhealthy.delete(r.target.name);
      else if (r.report.status === 'failed') this.unhealthy.add(r.target.name);
    }
    this.deployed += runs.filter((r) => r.report.status === 'deployed').length;
    this.failed = failedSoFar + bakeFailed;
    const bad = runs.some((r) => r.report.status === 'failed' || r.report.status === 'rolled-back');
    const result = signal.aborted ? 'cancelled' : bad ? 'failed' : 'succeeded';
    const env = this.env(result, w);
    if (
      !(await aroundHook(
        this.around,
        'after-wave',
        this.hooks.afterWave,
        env,
        AbortSignal.timeout(CLEANUP_MS),
      ))
    )
      halt ??= `after-wave of wave ${w + 1} failed`;
    return { halt, bakeFailed };
  }

  /** `after-rollout`, always; false when it failed. */
  afterRollout(result: string, failed: number, deployed: number): Promise<boolean> {
    this.failed = failed;
    this.deployed = deployed;
    const env = this.env(result);
    return aroundHook(
      this.around,
      'after-rollout',
      this.hooks.afterRollout,
      env,
      AbortSignal.timeout(CLEANUP_MS),
    );
  }

  /** True when a rollout step failed (a hook, a bake, the min-healthy gate). */
  get anyFailed(): boolean {
    return this.steps.some((s) => s.status === 'failed');
  }
}
