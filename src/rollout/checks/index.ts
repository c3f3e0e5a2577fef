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
  /**
   * One line per check run, `ok <label> (n attempt(s)): <detail>`; on failure the
   * failing check comes first (`FAILED <label> …`), then those that passed before it.
   */
  detail: string;
  durationMs: number;
  /** Per check run, in order (checks after a failure are not run). */
  results: Array<CheckResult & { label: string }>;
}

/**
 * Run checks in order, stopping at the first failure: the `verify` step (of a
 * deploy, and after a rollback) and any later health phase. `onAttempt` also
 * gets the index and label of the check. Strings must already be expanded.
 *
 * @example
 * const r = await runChecks(target.hooks.verify, { host, cwd, env, signal });
 */
export async function runChecks(
  checks: readonly CheckSpec[],
  ctx: Omit<CheckContext, 'onAttempt'> & {
    onAttempt?(check: number, attempt: number, message: string, ok: boolean, label: string): void;
  },
): Promise<ChecksResult> {
  const started = performance.now();
  const results: ChecksResult['results'] = [];
  const lines: string[] = [];
  const done = (ok: boolean): ChecksResult => ({
    ok,
    detail: (ok ? lines : [...lines].reverse()).join('\n'),
    durationMs: Math.round(performance.now() - started),
    results,
  });
  for (const [i, check] of checks.entries()) {
    const label = checkLabel(check, ctx.host);
    const r = await runCheck(check, {
      ...ctx,
      onAttempt: (n, m, ok) => ctx.onAttempt?.(i, n, m, ok, label),
    });
    results.push({ ...r, label });
    lines.push(`${r.ok ? 'ok' : 'FAILED'} ${label} (${r.attempts} attempt(s)): ${r.detail}`);
    if (!r.ok) return done(false);
  }
  return done(true);
}
