/**
 * `http` check: request a URL until it answers with an expected status (and,
 * if asked, a body that contains a string or matches a regex). With
 * `{release}` in `contains` a check proves the new version is live, not just
 * that the host is up.
 */
import type { CheckSpec } from '../../config/types.js';
import { formatDuration } from '../../report/format.js';
import { httpRequest } from './http-request.js';
import { networkBudget, retry, type Attempt, type CheckContext, type CheckResult } from './retry.js';

export type HttpCheck = Extract<CheckSpec, { kind: 'http' }>;

/** Bodies are read up to this size; a health page is small. */
const MAX_BODY = 1024 * 1024;

/** True when `status` is one of `expected`: numbers, numeric strings or classes like `2xx` (empty: 2xx). */
export function statusMatches(status: number, expected: ReadonlyArray<number | string>): boolean {
  if (expected.length === 0) return status >= 200 && status < 300;
  return expected.some((want) => {
    if (typeof want === 'number') return status === want;
    const text = want.trim().toLowerCase();
    const cls = /^([1-5])xx$/.exec(text);
    if (cls) return Math.floor(status / 100) === Number(cls[1]);
    return /^\d{3}$/.test(text) && status === Number(text);
  });
}

/** `2xx`, `200, 204`: how the expected statuses are written in messages. */
function describeStatuses(expected: ReadonlyArray<number | string>): string {
  return expected.length === 0 ? '2xx' : expected.map(String).join(', ');
}

/** Follow redirects unless the check expects a 3xx itself. */
function expectsRedirect(expected: ReadonlyArray<number | string>): boolean {
  return expected.some((s) => (typeof s === 'number' ? s >= 300 && s < 400 : /^\s*3(xx|\d\d)\s*$/i.test(s)));
}

/** A network error as a person would say it. */
export function describeNetworkError(error: unknown, budgetMs: number): string {
  if (error instanceof Error && error.name === 'TimeoutError')
    return `no answer within ${formatDuration(budgetMs)}`;
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
  const code = (cause as { code?: string } | undefined)?.code;
  switch (code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'host not found';
    case 'ECONNRESET':
    case 'UND_ERR_SOCKET':
      return 'connection reset';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return 'host unreachable';
    case 'ETIMEDOUT':
      return 'connection timed out';
  }
  if (cause instanceof Error) return cause.message;
  return String(cause);
}

/** The start of a body, on one line, for messages. */
function snippet(body: string): string {
  const line = body.replace(/\s+/g, ' ').trim();
  if (!line) return '';
  return `; body: ${JSON.stringify(line.length > 120 ? `${line.slice(0, 120)}…` : line)}`;
}

/** Run an `http` check (url, contains and matches already expanded). */
export async function runHttpCheck(check: HttpCheck, ctx: CheckContext): Promise<CheckResult> {
  const method = (check.method || 'GET').toUpperCase();
  const request = `${method} ${check.url}`;
  let regex: RegExp | undefined;
  let invalid: string | undefined;
  if (check.matches !== undefined) {
    try {
      regex = new RegExp(check.matches);
    } catch (error) {
      invalid = `matches: invalid regular expression /${check.matches}/: ${(error as Error).message}`;
    }
  }
  if (!URL.canParse(check.url)) invalid = `url: not a valid URL: ${JSON.stringify(check.url)}`;
  const follow = !expectsRedirect(check.status);

  return retry(
    {
      intervalMs: check.intervalMs,
      timeoutMs: check.timeoutMs,
      successThreshold: check.successThreshold,
      attemptBudget: networkBudget(check.intervalMs),
      signal: ctx.signal,
      onAttempt: ctx.onAttempt,
    },
    async (_n, budgetMs): Promise<Attempt> => {
      if (invalid) return { ok: false, message: invalid, final: true };
      const timeout = AbortSignal.timeout(budgetMs);
      const signal = ctx.signal ? AbortSignal.any([ctx.signal, timeout]) : timeout;
      let status: number;
      let body: string;
      try {
        ({ status, body } = await httpRequest({
          url: check.url,
          method,
          headers: check.headers,
          follow,
          maxBody: MAX_BODY,
          signal,
        }));
      } catch (error) {
        const reason = timeout.aborted
          ? `no answer within ${formatDuration(budgetMs)}`
          : describeNetworkError(error, budgetMs);
        return { ok: false, message: `${request} → ${reason}` };
      }
      if (!statusMatches(status, check.status)) {
        return {
          ok: false,
          message: `${request} → ${status} (expected ${describeStatuses(check.status)})${snippet(body)}`,
        };
      }
      if (check.contains !== undefined && !body.includes(check.contains)) {
        return {
          ok: false,
          message: `${request} → ${status}, body does not contain ${JSON.stringify(check.contains)}${snippet(body)}`,
        };
      }
      if (regex && !regex.test(body)) {
        return {
          ok: false,
          message: `${request} → ${status}, body does not match /${check.matches}/${snippet(body)}`,
        };
      }
      return { ok: true, message: `${request} → ${status}` };
    },
  );
}
