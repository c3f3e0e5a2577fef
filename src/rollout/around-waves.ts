/**
 * What runs around the waves (docs/hooks-and-checks.md#around-waves): the
 * rollout- and wave-level hooks, the bake after each wave, and the
 * min-healthy gate. Each records a RolloutStepReport; none throws.
 */
import type { ResolvedConfig, TargetConfig } from '../config/types.js';
import type { CountOrPercent, HookSpec } from '../config/types.js';
import { describeError } from '../errors.js';
import { maskSecrets, type Logger } from '../log.js';
import { mapLimit } from '../pool.js';
import type { RolloutStepReport } from '../report/types.js';
import { runHook, sleep } from './hooks.js';
import { probeTarget } from './probe.js';
import { batchSize } from './waves.js';

export interface AroundContext {
  config: ResolvedConfig;
  deployId: string;
  /** The SHA being shipped. */
  to: string;
  command: string;
  log: Logger;
  steps: RolloutStepReport[];
}

async function record(
  ctx: AroundContext,
  name: RolloutStepReport['name'],
  wave: number | undefined,
  fn: () => Promise<{ ok: boolean; detail: string }>,
): Promise<boolean> {
  const t0 = performance.now();
  let r: { ok: boolean; detail: string };
  try {
    r = await fn();
  } catch (error) {
    r = { ok: false, detail: describeError(error) };
  }
  const step: RolloutStepReport = {
    name,
    ...(wave !== undefined ? { wave } : {}),
    status: r.ok ? 'ok' : 'failed',
    durationMs: Math.round(performance.now() - t0),
    detail: maskSecrets(r.detail, ctx.config.secrets),
  };
  ctx.steps.push(step);
  const where = wave !== undefined ? ` (wave ${wave})` : '';
  if (r.ok) ctx.log.info(`${name}${where}: ok`);
  else ctx.log.error(`${name}${where} failed: ${step.detail.split('\n')[0] ?? ''}`);
  return r.ok;
}

/** The environment of a rollout or wave hook. */
export interface AroundEnv {
  wave?: number;
  waves: number;
  waveTargets?: readonly string[];
  targets: readonly string[];
  /** `running`, or the result so far: `succeeded`, `failed`, `cancelled`. */
  result: string;
  deployed: number;
  failed: number;
}

/** Run `before-rollout`, `after-rollout`, `before-wave` or `after-wave` (absent: true). */
export function aroundHook(
  ctx: AroundContext,
  name: 'before-rollout' | 'after-rollout' | 'before-wave' | 'after-wave',
  hook: HookSpec | undefined,
  env: AroundEnv,
  signal: AbortSignal,
): Promise<boolean> {
  if (!hook) return Promise.resolve(true);
  const vars: Record<string, string> = {
    DIFFSHIP_DEPLOY_ID: ctx.deployId,
    DIFFSHIP_RELEASE: ctx.to,
    DIFFSHIP_COMMAND: ctx.command,
    DIFFSHIP_HOOK: name,
    DIFFSHIP_WAVES: String(env.waves),
    DIFFSHIP_TARGETS: env.targets.join(' '),
    DIFFSHIP_RESULT: env.result,
    DIFFSHIP_DEPLOYED: String(env.deployed),
    DIFFSHIP_FAILED: String(env.failed),
  };
  if (env.wave !== undefined) vars.DIFFSHIP_WAVE = String(env.wave);
  if (env.waveTargets) vars.DIFFSHIP_WAVE_TARGETS = env.waveTargets.join(' ');
  return record(ctx, name, env.wave, () =>
    runHook(hook, { name, cwd: ctx.config.baseDir, env: vars, signal, logger: ctx.log }),
  );
}

/**
 * Bake: every `interval` for `duration`, probe each target's checks once.
 * Past `failure-limit` failed probes the bake stops; returns the targets
 * that failed a probe (empty: the wave baked clean).
 */
export async function bakeWave(
  ctx: AroundContext,
  wave: number,
  targets: readonly TargetConfig[],
  signal: AbortSignal,
): Promise<Set<string>> {
  const bake = ctx.config.bake!;
  const bad = new Set<string>();
  await record(ctx, 'bake', wave, async () => {
    const started = performance.now();
    const failures: string[] = [];
    let probes = 0;
    while (performance.now() - started + bake.intervalMs <= bake.durationMs + 1) {
      if (!(await sleep(bake.intervalMs, signal))) return { ok: false, detail: 'cancelled while baking' };
      probes++;
      const results = await mapLimit(targets, ctx.config.maxParallel, (t) =>
        probeTarget(t, ctx.to, { ...ctx, signal }),
      );
      results.forEach((r, i) => {
        if (r.ok) return;
        bad.add(targets[i]!.name);
        failures.push(`probe ${probes} ${targets[i]!.name}: ${r.detail}`);
      });
      if (failures.length > bake.failureLimit) {
        return {
          ok: false,
          detail: `${failures.length} failed probe(s), limit ${bake.failureLimit}\n${failures.join('\n')}`,
        };
      }
    }
    bad.clear(); // within the limit: the wave passed
    const extra = failures.length ? `; tolerated:\n${failures.join('\n')}` : '';
    return { ok: true, detail: `${probes} probe(s) of ${targets.length} target(s) passed${extra}` };
  });
  return bad;
}

/** The least number of targets that must be healthy: a count, or a share of `total` rounded up. */
export function minHealthyCount(min: CountOrPercent, total: number): number {
  if ('percent' in min) return Math.max(0, Math.ceil((min.percent / 100) * total - 1e-9));
  return Math.min(batchSize(min, total), total);
}

/**
 * Before wave 1: probe every selected target against what it runs now.
 * Returns the names of the unhealthy ones, or null when fewer than
 * `min-healthy` passed (the rollout must not start).
 */
export async function healthGate(
  ctx: AroundContext,
  targets: readonly TargetConfig[],
  signal: AbortSignal,
): Promise<{ ok: boolean; unhealthy: Set<string> }> {
  const min = minHealthyCount(ctx.config.minHealthy!, targets.length);
  const unhealthy = new Set<string>();
  const ok = await record(ctx, 'min-healthy', undefined, async () => {
    const results = await mapLimit(targets, ctx.config.maxParallel, (t) =>
      probeTarget(t, null, { ...ctx, signal }),
    );
    const lines = results.map((r, i) => {
      if (!r.ok) unhealthy.add(targets[i]!.name);
      return `${r.ok ? 'healthy' : 'UNHEALTHY'} ${targets[i]!.name} (${r.release?.slice(0, 12) ?? 'no release'}): ${r.detail}`;
    });
    const healthy = targets.length - unhealthy.size;
    const head = `${healthy} of ${targets.length} healthy, min-healthy ${min}`;
    return { ok: healthy >= min, detail: `${head}\n${lines.join('\n')}` };
  });
  return { ok, unhealthy };
}

/** Unhealthy targets first (CodeDeploy's order), the rest in listed order. */
export function unhealthyFirst<T extends { name: string }>(
  targets: readonly T[],
  unhealthy: ReadonlySet<string>,
): T[] {
  return [...targets.filter((t) => unhealthy.has(t.name)), ...targets.filter((t) => !unhealthy.has(t.name))];
}

/**
 * Null when taking `wave` out of service keeps at least `min` of `total`
 * targets healthy, else why not. Healthy = not in `unhealthy`.
 */
export function belowMinHealthy(
  min: CountOrPercent,
  total: number,
  unhealthy: ReadonlySet<string>,
  wave: readonly string[],
  n: number,
): string | null {
  const need = minHealthyCount(min, total);
  const healthy = total - unhealthy.size;
  const during = healthy - wave.filter((name) => !unhealthy.has(name)).length;
  if (during >= need) return null;
  return `wave ${n} would leave ${during} of ${total} target(s) healthy while it deploys, below min-healthy ${need}; use smaller waves`;
}
