/**
 * The one way diffship runs a shell command line on this machine: `run:` hooks
 * and command checks (src/rollout) and the local transport's `exec` (`remote:`
 * on a local target, `sync -f`) all come here.
 *
 * `/bin/sh -c`, stdin closed, output captured. The child leads its own process
 * group so a timeout or a cancellation ends everything it started (a hook's
 * `sleep`, a server it ran in the foreground), not just the shell: TERM to the
 * group, KILL after a grace period, and the result only once the group is gone.
 */
import { readdir, readFile } from 'node:fs/promises';
import { childEnv, type ChildEnvPolicy } from '../child-env.js';
import { TailBuffer } from '../tail-buffer.js';
import { KILL_GRACE_MS, OUTPUT_CAP } from '../command-limits.js';
import { spawnShell, type ShellChild } from './spawner.js';
import { statFields } from '../../proc-stat.js';

/**
 * After the shell exits, how long background children may hold its pipes
 * before we stop reading: output still in flight arrives within this, and a
 * daemon a hook started with `&` would otherwise hold the result forever.
 */
const DRAIN_MS = 200;
/** After SIGKILL, how long to wait for the group to be gone before giving the result anyway. */
const KILL_WAIT_MS = 1000;
/** setTimeout's largest delay; a longer one would fire at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface RunLocalOptions {
  /** Working directory (the config folder for hooks, the target folder for the local transport). */
  cwd: string;
  /** Extra environment variables, added to this process's environment minus its secrets. */
  env?: Record<string, string>;
  /** Which of this process's variables are secrets (child-env.ts); the runner's credentials always are. */
  envPolicy?: ChildEnvPolicy;
  /** Stop the command after this long; 0 or absent means no limit. */
  timeoutMs?: number;
  /** Stop the command when this aborts (cancellation). */
  signal?: AbortSignal;
  /** Bytes of each stream to keep (the tail); default OUTPUT_CAP. */
  maxOutputBytes?: number;
  /** Time between SIGTERM and SIGKILL; default KILL_GRACE_MS. */
  killGraceMs?: number;
}

export interface RunLocalResult {
  /** Exit code, or null when killed by a signal or never started. */
  code: number | null;
  /** The signal that ended the shell, e.g. `SIGTERM`. */
  signal: string | null;
  stdout: string;
  stderr: string;
  /** True when diffship stopped it for running past `timeoutMs`. */
  timedOut: boolean;
  /** True when diffship stopped it (or never started it) because `signal` aborted. */
  aborted: boolean;
  /** Set when the command could not be started (e.g. `cwd` missing). */
  error?: string;
  durationMs: number;
}

function killGroup(pid: number, sig: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pid, sig);
    return true;
  } catch {
    return false; // ESRCH: the group is gone already
  }
}

/**
 * Whether the group still has a running (non-zombie) member. Orphaned members
 * become zombies until init reaps them, which some container inits do slowly,
 * so on Linux we look at /proc; elsewhere signal 0 is the best we have.
 */
async function groupAlive(pgid: number): Promise<boolean> {
  if (!killGroup(pgid, 0)) return false;
  let pids: string[];
  try {
    pids = (await readdir('/proc')).filter((name) => /^\d+$/.test(name));
  } catch {
    return true;
  }
  for (const pid of pids) {
    try {
      const [state, , pgrp] = statFields(await readFile(`/proc/${pid}/stat`, 'utf8'));
      if (Number(pgrp) === pgid && state !== 'Z' && state !== 'X') return true;
    } catch {
      // the process ended while we looked
    }
  }
  return false;
}

/**
 * Run `command` with `/bin/sh -c` in `cwd`. Never rejects: a failing, missing,
 * timed-out or cancelled command is described by the result, so each caller
 * maps it onto its own contract (a hook's step result, a transport's
 * E_CANCELLED rejection) in one place.
 *
 * Once the shell has exited on its own the command is done: the timeout and
 * the signal no longer apply, so a daemon it started in the background keeps
 * running (we only stop reading its pipes after DRAIN_MS).
 *
 * @example const r = await runLocal('./lb drain soup-a', { cwd, timeoutMs: 30_000 }); if (r.code !== 0) …
 */
export function runLocal(command: string, options: RunLocalOptions): Promise<RunLocalResult> {
  const started = performance.now();
  const grace = options.killGraceMs ?? KILL_GRACE_MS;
  const stdout = new TailBuffer(options.maxOutputBytes ?? OUTPUT_CAP);
  const stderr = new TailBuffer(options.maxOutputBytes ?? OUTPUT_CAP);
  const elapsed = () => Math.round(performance.now() - started);

  if (options.signal?.aborted) return Promise.resolve({ ...NOT_STARTED, aborted: true });

  return new Promise((resolve) => {
    // The child's own environment (what /proc/PID/environ shows), not just what a shell exports;
    // never the caller's own DIFFSHIP_* variables: a command sees exactly the ones it is given.
    // A rollout's filtered environment is one object for all its commands: the spawn helper gets it once.
    const shared = options.envPolicy?.filtered;
    const child = shared
      ? spawnShell(command, options.cwd, { ...options.env }, shared)
      : spawnShell(command, options.cwd, { ...childEnv(inheritedEnv(), options.envPolicy), ...options.env });
    let pid: number | undefined;
    child.whenStarted((p) => (pid = p));
    let timedOut = false;
    let aborted = false;
    let killing = false;
    let killTimer: NodeJS.Timeout | undefined;
    let settled = false;

    child.stdout.on('data', (c: Buffer) => stdout.push(c));
    child.stderr.on('data', (c: Buffer) => stderr.push(c));

    const kill = () => {
      if (killing || settled) return;
      killing = true;
      // The pid may still be on its way from the spawn helper: the group is killed once it is known.
      child.whenStarted((p) => {
        if (settled) return;
        killGroup(p, 'SIGTERM');
        killTimer = setTimeout(() => killGroup(p, 'SIGKILL'), grace);
      });
    };

    const timer =
      options.timeoutMs && options.timeoutMs > 0
        ? setTimeout(
            () => {
              timedOut = true;
              kill();
            },
            Math.min(options.timeoutMs, MAX_TIMER_MS),
          )
        : undefined;
    const onAbort = () => {
      aborted = true;
      kill();
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });
    const disarm = () => {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
    };

    const finish = (
      result: Omit<RunLocalResult, 'stdout' | 'stderr' | 'timedOut' | 'aborted' | 'durationMs'>,
    ) => {
      if (settled) return;
      settled = true;
      disarm();
      clearTimeout(killTimer);
      child.release();
      resolve({
        ...result,
        stdout: stdout.text(),
        stderr: stderr.text(),
        timedOut,
        aborted,
        durationMs: elapsed(),
      });
    };

    child.on('error', (error) => finish({ code: null, signal: null, error: error.message }));

    child.on('exit', (code, sig) => {
      const result = { code, signal: sig };
      if (killing && pid !== undefined) {
        waitForGroup(pid, grace, () => finish(result));
        return;
      }
      // It ended by itself: what it left running in the background is its own.
      disarm();
      drainPipes(child, () => finish(result));
    });
  });
}

/** The result of a command that never started (aborted before the spawn). */
const NOT_STARTED: RunLocalResult = {
  code: null,
  signal: null,
  stdout: '',
  stderr: '',
  timedOut: false,
  aborted: false,
  durationMs: 0,
};

/**
 * The shell is gone; wait (up to the grace period) for the rest of its group,
 * then SIGKILL whatever ignored SIGTERM, so nothing outlives a timeout or an abort.
 * A KILLed process still has to be scheduled to die: wait for that too (briefly:
 * one stuck in the kernel, state D, dies only when the kernel lets it).
 */
function waitForGroup(pid: number, grace: number, done: () => void): void {
  const deadline = performance.now() + grace;
  const poll = async () => {
    if (!(await groupAlive(pid))) return done();
    const now = performance.now();
    if (now >= deadline + KILL_WAIT_MS) return done();
    if (now >= deadline) killGroup(pid, 'SIGKILL');
    setTimeout(() => void poll(), 25);
  };
  void poll();
}

/**
 * Background children may keep our pipes open forever (a hook that starts a
 * daemon with `&`): read what arrives shortly, then stop waiting.
 */
function drainPipes(child: ShellChild, done: () => void): void {
  let open = 2;
  const drained = setTimeout(done, DRAIN_MS);
  const onEnd = () => {
    if (--open === 0) {
      clearTimeout(drained);
      done();
    }
  };
  if (child.stdout.readableEnded) onEnd();
  else child.stdout.once('end', onEnd);
  if (child.stderr.readableEnded) onEnd();
  else child.stderr.once('end', onEnd);
}

/**
 * `policy` with this process's environment filtered by it once, now (ChildEnvPolicy.filtered):
 * reading process.env costs a call into the C environment per variable, ~0.1–0.2 ms per
 * command, which a fleet pays for every hook and check of every target.
 */
export function sharedEnvPolicy(policy: ChildEnvPolicy): ChildEnvPolicy {
  return { ...policy, filtered: childEnv(inheritedEnv(), policy) };
}

/**
 * This process's environment without its own `DIFFSHIP_*` variables: a command sees
 * exactly the ones it is given (a hook, this deploy's), never stale ones from the caller.
 */
function inheritedEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env))
    if (!name.startsWith('DIFFSHIP_')) env[name] = value;
  return env;
}
