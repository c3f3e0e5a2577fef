/** `tcp` check: a port accepts a connection. Host defaults to the target's host. */
import net from 'node:net';
import type { CheckSpec } from '../../config/types.js';
import { describeNetworkError } from './http.js';
import { networkBudget, retry, type Attempt, type CheckContext, type CheckResult } from './retry.js';
import { formatDuration } from '../../report/format.js';

export type TcpCheck = Extract<CheckSpec, { kind: 'tcp' }>;

/** Try one connection; resolves, never rejects. */
function connectOnce(
  host: string,
  port: number,
  budgetMs: number,
  signal?: AbortSignal,
): Promise<string | null> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (error: string | null) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      socket.destroy();
      resolve(error);
    };
    const timer = setTimeout(() => done(`no answer within ${formatDuration(budgetMs)}`), budgetMs);
    const onAbort = () => done('cancelled');
    signal?.addEventListener('abort', onAbort, { once: true });
    socket.once('connect', () => done(null));
    socket.once('error', (error) => done(describeNetworkError(error, budgetMs)));
  });
}

/** Run a `tcp` check against `check.host` or the target's host. */
export function runTcpCheck(check: TcpCheck, ctx: CheckContext): Promise<CheckResult> {
  const host = check.host || ctx.host;
  const where = `tcp ${host.includes(':') ? `[${host}]` : host}:${check.port}`;
  return retry(
    {
      intervalMs: check.intervalMs,
      timeoutMs: check.timeoutMs,
      attemptBudget: networkBudget(check.intervalMs),
      signal: ctx.signal,
      onAttempt: ctx.onAttempt,
    },
    async (_n, budgetMs): Promise<Attempt> => {
      const error = await connectOnce(host, check.port, budgetMs, ctx.signal);
      return error === null
        ? { ok: true, message: `${where} → open` }
        : { ok: false, message: `${where} → ${error}` };
    },
  );
}
