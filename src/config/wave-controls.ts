/**
 * Rollout controls around waves: `bake`, `min-healthy` and the rollout- and
 * wave-level hooks (docs/hooks-and-checks.md#around-waves). The hooks run on
 * this machine only: they belong to no target, so `remote` has no host.
 */
import { durationField, shareField, type ResolveContext } from './fields.js';
import { DEFAULTS } from './defaults.js';
import type { ConfigFileInput, HookInput } from './schema.js';
import type { BakeConfig, CountOrPercent, HookSpec, RolloutHooks } from './types.js';

type Input = Pick<
  ConfigFileInput,
  'bake' | 'min-healthy' | 'before-rollout' | 'after-rollout' | 'before-wave' | 'after-wave'
>;

export function resolveBake(ctx: ResolveContext, bake: Input['bake']): BakeConfig | undefined {
  if (bake === undefined) return undefined;
  const long = typeof bake === 'object' ? bake : { duration: bake };
  const durationMs = durationField(
    ctx,
    long.duration,
    ['bake', ...(typeof bake === 'object' ? ['duration'] : [])],
    0,
    false,
  );
  const intervalMs = durationField(ctx, long.interval, ['bake', 'interval'], '30s', true);
  return {
    durationMs,
    intervalMs: Math.min(intervalMs, Math.max(durationMs, 1)),
    failureLimit: long['failure-limit'] ?? 0,
  };
}

export function resolveMinHealthy(
  ctx: ResolveContext,
  value: Input['min-healthy'],
): CountOrPercent | undefined {
  return value === undefined ? undefined : shareField(ctx, value, ['min-healthy'], 'max-failures');
}

const HOOKS = [
  ['before-rollout', 'beforeRollout'],
  ['after-rollout', 'afterRollout'],
  ['before-wave', 'beforeWave'],
  ['after-wave', 'afterWave'],
] as const;

export function resolveRolloutHooks(ctx: ResolveContext, input: Input): RolloutHooks {
  const out: RolloutHooks = {};
  for (const [key, field] of HOOKS) {
    const h: HookInput | undefined = input[key];
    if (h === undefined) continue;
    if (h.remote !== undefined) {
      ctx.problems.add(
        [key, 'remote'],
        'a rollout or wave hook runs on this machine: use run (DIFFSHIP_WAVE_TARGETS names the targets)',
      );
    }
    if (h.run === undefined && h.settle === undefined) ctx.problems.add([key], 'expected run or settle');
    const spec: HookSpec = {
      timeoutMs: durationField(ctx, h.timeout, [key, 'timeout'], DEFAULTS.hook.timeout, true),
      settleMs: durationField(ctx, h.settle, [key, 'settle'], DEFAULTS.hook.settle, false),
    };
    if (h.run !== undefined) spec.run = h.run;
    out[field] = spec;
  }
  return out;
}
