/**
 * Hooks: `before`, `activate` and `after` (SPEC §2). A hook runs its `run`
 * command on this machine (cwd: the config folder), then its `remote` command
 * on the target (through the transport, target folder as cwd), then waits
 * `settle`. A failing hook is a result, not an exception: the orchestrator
 * turns it into a failed step and still runs `after`.
 */
import type { HookSpec } from '../config/types.js';
import { DiffshipError } from '../errors.js';
import { shellSafeId } from '../config/placeholders.js';
import { silentLogger, type Logger } from '../log.js';
import { runLocal } from '../transport/local/run-local.js';
import type { ChildEnvPolicy } from '../transport/child-env.js';
import type { Transport } from '../transport/transport.js';
import { formatDuration } from '../report/format.js';
import { describeExit, trimOutput, type CommandOutcome } from './command.js';

/** What a hook (and a command check) is told about the deploy, as `DIFFSHIP_*` variables. */
export interface HookEnvValues {
  target: string;
  host: string;
  /** The target folder (absolute for local targets, as written for ssh). */
  path: string;
  /** The SHA being shipped. */
  release: string;
  /** The SHA the target held before, or null when it held none. */
  previousRelease: string | null;
  deployId: string;
  /** Path of the JSON file with the target's change set (written by the orchestrator). */
  changesFile: string;
  /** Path of the JSON file listing the changed units (`units`), when the config has units. */
  unitsFile?: string;
}

/** The `DIFFSHIP_*` environment of a hook. A missing previous release is the empty string. */
export function hookEnv(values: HookEnvValues): Record<string, string> {
  // Ids read back from a target are checked as placeholders are: a hook may paste them into a shell.
  if (values.previousRelease) shellSafeId(values.previousRelease, 'DIFFSHIP_PREVIOUS_RELEASE');
  if (values.release) shellSafeId(values.release, 'DIFFSHIP_RELEASE');
  return {
    DIFFSHIP_TARGET: values.target,
    DIFFSHIP_HOST: values.host,
    DIFFSHIP_PATH: values.path,
    DIFFSHIP_RELEASE: values.release,
    DIFFSHIP_PREVIOUS_RELEASE: values.previousRelease ?? '',
    DIFFSHIP_DEPLOY_ID: values.deployId,
    DIFFSHIP_CHANGES: values.changesFile,
    ...(values.unitsFile !== undefined ? { DIFFSHIP_UNITS: values.unitsFile } : {}),
  };
}

export interface HookContext {
  /** Hook name for logs: `before`, `activate`, `after`. */
  name?: string;
  /** `run` with placeholders expanded; defaults to `hook.run`. */
  run?: string;
  /** `remote` with placeholders expanded; defaults to `hook.remote`. */
  remote?: string;
  /** Working directory of `run`: the config file's folder. */
  cwd: string;
  /** Environment for both commands, usually `hookEnv(...)`. */
  env: Record<string, string>;
  /** Which of diffship's own variables are secrets kept from the commands (config secrets, `pass-env`). */
  envPolicy?: ChildEnvPolicy;
  /** Needed when the hook has `remote`. */
  transport?: Pick<Transport, 'exec'>;
  /** Cancellation: kills the command, cuts `settle` short. */
  signal?: AbortSignal;
  logger?: Logger;
}

export interface HookResult {
  ok: boolean;
  /** The failure reason first, then the output's last lines (≤ 20 lines, ≤ 2 KiB). */
  detail: string;
  durationMs: number;
  timedOut: boolean;
  cancelled: boolean;
}

interface CommandRun {
  outcome: CommandOutcome;
  output: string;
}

/** Resolves after `ms`, or early (false) when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<boolean> {
  if (signal?.aborted) return Promise.resolve(false);
  if (ms <= 0) return Promise.resolve(true);
  return new Promise((resolve) => {
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function joinOutput(stdout: string, stderr: string): string {
  // stderr last: it usually says why, and trimming keeps the end.
  return [stdout.replace(/\s+$/, ''), stderr.replace(/\s+$/, '')].filter(Boolean).join('\n');
}

/**
 * Run one hook. Resolves with `ok: false` for a failing, timed-out or cancelled
 * command; throws only when called wrongly (a `remote` without a transport).
 *
 * @example
 * const r = await runHook(target.hooks.before!, { name: 'before', cwd: config.baseDir, env: hookEnv(v) });
 * if (!r.ok) step.fail(r.detail);
 */
export async function runHook(hook: HookSpec, ctx: HookContext): Promise<HookResult> {
  const started = performance.now();
  const log = ctx.logger ?? silentLogger;
  const label = ctx.name ? `hook ${ctx.name}` : 'hook';
  const run = ctx.run ?? hook.run;
  const remote = ctx.remote ?? hook.remote;
  if (remote && !ctx.transport) {
    throw new DiffshipError(
      'E_HOOK',
      `${label} has \`remote\` but runHook got no transport; pass ctx.transport`,
    );
  }
  // One timeout for the hook's commands together; settle comes after it.
  const deadline = hook.timeoutMs > 0 ? started + hook.timeoutMs : Infinity;
  const remaining = () => (deadline === Infinity ? 0 : Math.max(1, Math.round(deadline - performance.now())));
  const outputs: string[] = [];
  const done = (ok: boolean, reason: string | null, extra: Partial<HookResult> = {}): HookResult => {
    const output = trimOutput(outputs.filter(Boolean).join('\n'));
    return {
      ok,
      detail: [reason, output].filter(Boolean).join('\n'),
      durationMs: Math.round(performance.now() - started),
      timedOut: false,
      cancelled: false,
      ...extra,
    };
  };

  const commands: Array<{ where: 'run' | 'remote'; command: string }> = [];
  if (run) commands.push({ where: 'run', command: run });
  if (remote) commands.push({ where: 'remote', command: remote });

  for (const { where, command } of commands) {
    log.debug(`${label}: ${where} ${command}`);
    let result: CommandRun;
    if (where === 'run') {
      const r = await runLocal(command, {
        cwd: ctx.cwd,
        env: ctx.env,
        envPolicy: ctx.envPolicy,
        timeoutMs: remaining(),
        signal: ctx.signal,
      });
      result = { outcome: r, output: joinOutput(r.stdout, r.stderr) };
    } else {
      try {
        const r = await ctx.transport!.exec(command, {
          env: ctx.env,
          envPolicy: ctx.envPolicy,
          timeoutMs: remaining() || undefined,
          signal: ctx.signal,
        });
        result = {
          outcome: { ...r, aborted: ctx.signal?.aborted ?? false },
          output: joinOutput(r.stdout, r.stderr),
        };
      } catch (error) {
        // A lost connection is the hook failing, not diffship crashing.
        const cancelled = ctx.signal?.aborted ?? false;
        const message = error instanceof Error ? error.message : String(error);
        return done(false, cancelled ? 'cancelled' : `${where} failed: ${message}`, { cancelled });
      }
    }
    outputs.push(result.output);
    for (const line of result.output.split('\n').slice(-20)) if (line) log.debug(`${label}: ${line}`);
    const { outcome } = result;
    if (outcome.timedOut) {
      return done(false, describeExit(outcome, hook.timeoutMs), { timedOut: true });
    }
    if (outcome.aborted || ctx.signal?.aborted) return done(false, 'cancelled', { cancelled: true });
    if (outcome.code !== 0) {
      const reason = `${where} ${describeExit(outcome)}`;
      log.debug(`${label}: ${reason}`);
      return done(false, reason);
    }
  }

  if (hook.settleMs > 0) {
    log.debug(`${label}: settling ${formatDuration(hook.settleMs)}`);
    if (!(await sleep(hook.settleMs, ctx.signal)))
      return done(false, 'cancelled while settling', { cancelled: true });
    if (commands.length === 0) outputs.push(`settled ${formatDuration(hook.settleMs)}`);
  }
  return done(true, null);
}
