/**
 * One probe of a target's `verify` checks: each check tried once (its own
 * timeout as the budget of that one attempt), in order, stopping at the
 * first failure. Used by `bake` (after a wave) and `min-healthy` (before
 * wave 1, against the release the target holds now). Uses the checks runner
 * of the verify step (`runChecks`).
 */
import type { CheckSpec, ResolvedConfig, TargetConfig } from '../config/types.js';
import { layout } from '../apply/layout.js';
import { readState } from '../apply/state.js';
import { describeError } from '../errors.js';
import type { Logger } from '../log.js';
import { createTransport } from '../transport/factory.js';
import type { Transport } from '../transport/transport.js';
import { runChecks } from './checks/index.js';
import { hookEnv } from './hooks.js';
import { expandCheck } from './expand-check.js';

export interface ProbeResult {
  ok: boolean;
  detail: string;
}

/** A check made to try exactly once: the next attempt would start at its timeout. */
function once(check: CheckSpec): CheckSpec {
  const budget = Math.max(check.timeoutMs, 1000);
  return check.kind === 'http'
    ? { ...check, intervalMs: budget, timeoutMs: budget, successThreshold: 1 }
    : { ...check, intervalMs: budget, timeoutMs: budget };
}

const needsTransport = (t: TargetConfig) =>
  t.hooks.verify.some((c) => c.kind === 'command' && c.remote !== undefined);

/**
 * Probe `target`'s checks with `{release}` = `release` (null: read the release
 * the target holds now from its state folder). Never throws.
 */
export async function probeTarget(
  target: TargetConfig,
  release: string | null,
  ctx: { config: ResolvedConfig; deployId: string; log: Logger; signal?: AbortSignal },
): Promise<ProbeResult & { release: string | null }> {
  let transport: Transport | null = null;
  let current = release;
  try {
    if (release === null || needsTransport(target)) {
      transport = createTransport(target, ctx.log);
      await transport.connect();
      if (release === null)
        current = (await readState(transport, layout(ctx.config.stateDir)))?.release ?? null;
    }
    // A shared-storage target is healthy when every node is.
    const places = target.nodes ?? [{ name: '', host: target.host, vars: target.vars }];
    let passed = 0;
    for (const place of places) {
      const ph = {
        name: target.name,
        host: place.host,
        port: target.port,
        path: target.path,
        vars: place.vars,
        release: current ?? '',
        previous: null,
      };
      const env = hookEnv({
        target: target.name,
        host: place.host,
        path: target.path,
        release: current ?? '',
        previousRelease: null,
        deployId: ctx.deployId,
        changesFile: '',
      });
      const checks = target.hooks.verify.map((c) => once(expandCheck(c, ph)));
      const r = await runChecks(checks, {
        host: place.host,
        transport: transport ?? undefined,
        cwd: ctx.config.baseDir,
        env,
        signal: ctx.signal,
      });
      const where = place.name ? `node ${place.name}: ` : '';
      if (!r.ok) return { ok: false, detail: `${where}${r.detail.split('\n')[0]!}`, release: current };
      passed += checks.length;
    }
    return { ok: true, detail: `${passed} check(s) passed`, release: current };
  } catch (error) {
    return { ok: false, detail: describeError(error), release: current };
  } finally {
    await transport?.close().catch(() => undefined);
  }
}
