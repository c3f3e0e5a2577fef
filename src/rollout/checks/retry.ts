/**
 * The retry loop every check kind shares: attempt every `interval` (start to
 * start) until `successThreshold` consecutive successes or the `timeout`,
 * cancellable at any point, each attempt reported for the live view.
 */
import type { Logger } from '../../log.js';
import type { ChildEnvPolicy } from '../../transport/child-env.js';
import type { Transport } from '../../transport/transport.js';
import { formatDuration } from '../../report/format.js';
import { trimOutput } from '../command.js';
import { sleep } from '../hooks.js';

export interface CheckContext {
  /** The target's host: the default host of `tcp` checks. */
  host: string;
  /** Needed by `command` checks with `remote`. */
  transport?: Pick<Transport, 'exec'>;
  /** Working directory of `command` checks with `run`: the config folder. */
  cwd: string;
  /** Extra environment of `command` checks (the hooks' `DIFFSHIP_*` variables). */
  env?: Record<string, string>;
  /** Which of diffship's own variables are secrets kept from the command (config secrets, `pass-env`). */
  envPolicy?: ChildEnvPolicy;
  /** Cancellation: stops the current attempt and any further ones. */
  signal?: AbortSignal;
  /** Called after every attempt, e.g. `(3, 'GET … → 503 (expected 2xx)', false)`. */
  onAttempt?(attempt: number, message: string, ok: boolean): void;
  logger?: Logger;
}

export interface CheckResult {
  ok: boolean;
  /** On failure the last failure's reason first; on success what passed. */
  detail: string;
  attempts: number;
  durationMs: number;
  cancelled: boolean;
}

/** The outcome of one attempt. */
export interface Attempt {
  ok: boolean;
  /** One line: `GET http://h/health → 503 (expected 2xx)`. */
  message: string;
  /** Command output, shown trimmed under a final failure. */
  output?: string;
  /** Retrying cannot help (a malformed URL or regex): stop now. */
  final?: boolean;
}

export interface RetryOptions {
  intervalMs: number;
  timeoutMs: number;
  successThreshold?: number;
  /** Longest time one attempt may take, given the time left before the timeout. */
  attemptBudget(remainingMs: number): number;
  signal?: AbortSignal;
  onAttempt?(attempt: number, message: string, ok: boolean): void;
}

/**
 * No attempt gets less than this, even at the very end of the timeout (or with
 * `timeout: 0`, which means "one attempt"): a request cut after 1 ms proves nothing.
 */
const MIN_ATTEMPT_MS = 1000;

/** http and tcp attempts: up to max(interval, 10s), cut at the timeout, at least 1s. */
export const networkBudget = (intervalMs: number) => (remainingMs: number) =>
  Math.max(MIN_ATTEMPT_MS, Math.min(remainingMs, Math.max(intervalMs, 10_000)));

/** command attempts: all the time left, at least 1s. */
export const commandBudget = (remainingMs: number) => Math.max(MIN_ATTEMPT_MS, remainingMs);

/** Run `attempt` until it passes `successThreshold` times in a row, the time runs out, or `signal` aborts. */
export async function retry(
  options: RetryOptions,
  attempt: (n: number, budgetMs: number) => Promise<Attempt>,
): Promise<CheckResult> {
  const started = performance.now();
  const deadline = started + options.timeoutMs;
  const threshold = Math.max(1, options.successThreshold ?? 1);
  let n = 0;
  let streak = 0;
  let last: Attempt | undefined;

  const result = (ok: boolean, detail: string, cancelled = false): CheckResult => ({
    ok,
    detail,
    attempts: n,
    durationMs: Math.round(performance.now() - started),
    cancelled,
  });
  const cancelled = () =>
    result(false, last ? `cancelled; last attempt: ${last.message}` : 'cancelled', true);

  for (;;) {
    if (options.signal?.aborted) return cancelled();
    const attemptStart = performance.now();
    n++;
    let a: Attempt;
    try {
      a = await attempt(n, options.attemptBudget(Math.round(deadline - attemptStart)));
    } catch (error) {
      a = { ok: false, message: error instanceof Error ? error.message : String(error) };
    }
    // An attempt cut short by cancellation says nothing about the host.
    if (options.signal?.aborted) return cancelled();
    last = a;
    options.onAttempt?.(n, a.message, a.ok);

    if (a.ok) {
      streak++;
      if (streak >= threshold) {
        const passes = threshold > 1 ? `${threshold} successes in a row, ` : '';
        return result(true, `${a.message} (${passes}${plural(n, 'attempt')})`);
      }
    } else {
      streak = 0;
      if (a.final) return result(false, a.message);
    }

    // Start to start; an attempt slower than the interval is followed at once.
    const nextStart = Math.max(attemptStart + options.intervalMs, performance.now());
    if (nextStart >= deadline) {
      const why = a.ok
        ? `${a.message}, but only ${streak} of ${threshold} successes in a row before the timeout`
        : a.message;
      const summary = `${why}\n${plural(n, 'attempt')}, gave up after ${formatDuration(options.timeoutMs)}`;
      const output = !a.ok && a.output ? trimOutput(a.output) : '';
      return result(false, output ? `${summary}\n${output}` : summary);
    }
    if (!(await sleep(nextStart - performance.now(), options.signal))) return cancelled();
  }
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
