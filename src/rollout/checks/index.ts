/**
 * Health checks of the `verify` step (SPEC §2): `http`, `tcp`, `command`.
 * Each retries until it passes or its timeout runs out; none throws for an
 * unhealthy host, only for a call that cannot work (a `remote` without a transport).
 */
import type { CheckSpec } from '../../config/types.js';
import { runCommandCheck } from './command.js';
import { runHttpCheck } from './http.js';
import type { CheckContext, CheckResult } from './retry.js';
import { runTcpCheck } from './tcp.js';

export type { CheckContext, CheckResult } from './retry.js';
export { statusMatches } from './http.js';

/**
 * Run one check with its strings already expanded.
 *
 * @example
 * const r = await runCheck(check, { host: target.host, cwd: config.baseDir, signal, onAttempt: (n, m) => view.update(m) });
 */
export function runCheck(check: CheckSpec, ctx: CheckContext): Promise<CheckResult> {
  switch (check.kind) {
    case 'http':
      return runHttpCheck(check, ctx);
    case 'tcp':
      return runTcpCheck(check, ctx);
    case 'command':
      return runCommandCheck(check, ctx);
  }
}

/** A short name for a check in progress lines: `http GET http://h/health`, `tcp h:6661`, `command ./check`. */
export function checkLabel(check: CheckSpec, host?: string): string {
  switch (check.kind) {
    case 'http':
      return `http ${(check.method || 'GET').toUpperCase()} ${check.url}`;
    case 'tcp':
      return `tcp ${check.host || host || 'localhost'}:${check.port}`;
    case 'command':
      return check.run !== undefined ? `command ${check.run}` : `command (remote) ${check.remote ?? ''}`;
  }
}

export interface ChecksResult {
  ok: boolean;
  /** On success one line per check; on failure the failing check's detail. */
  detail: string;
  durationMs: number;
  results: CheckResult[];
}

/**
 * Run a target's checks in order, stopping at the first failure: the `verify`
 * step. `onAttempt` also gets the index of the check.
 */
export async function runChecks(
  checks: readonly CheckSpec[],
  ctx: Omit<CheckContext, 'onAttempt'> & {
    onAttempt?(check: number, attempt: number, message: string, ok: boolean): void;
  },
): Promise<ChecksResult> {
  const started = performance.now();
  const results: CheckResult[] = [];
  const lines: string[] = [];
  for (const [i, check] of checks.entries()) {
    const r = await runCheck(check, { ...ctx, onAttempt: (n, m, ok) => ctx.onAttempt?.(i, n, m, ok) });
    results.push(r);
    if (!r.ok) {
      // The reason first; checks that passed before it are in `results`.
      return { ok: false, detail: r.detail, durationMs: Math.round(performance.now() - started), results };
    }
    lines.push(r.detail);
  }
  return { ok: true, detail: lines.join('\n'), durationMs: Math.round(performance.now() - started), results };
}
