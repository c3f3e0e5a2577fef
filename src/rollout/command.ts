/**
 * Run one shell command line on this machine, the way a workflow's `run:` does:
 * `/bin/sh -c`, stdin closed, output captured. The child leads its own process
 * group so a timeout or a cancellation ends everything it started (a hook's
 * `sleep`, a server it ran in the foreground), not just the shell.
 */
import { spawn } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { formatCompactDuration } from '../report/format.js';

export interface RunLocalOptions {
  /** Working directory (the config folder for hooks). */
  cwd: string;
  /** Extra environment variables, added to this process's environment. */
  env?: Record<string, string>;
  /** Kill the command after this long; 0 or absent means no limit. */
  timeoutMs?: number;
  /** Kill the command when this aborts (cancellation). */
  signal?: AbortSignal;
  /** Bytes of each stream to keep (the tail); default 256 KiB. */
  maxOutputBytes?: number;
  /** Time between SIGTERM and SIGKILL; default 2000 ms. */
  killGraceMs?: number;
}

export interface RunLocalResult {
  /** Exit code, or null when killed by a signal or never started. */
  code: number | null;
  /** The signal that ended the shell, e.g. `SIGTERM`. */
  signal: string | null;
  stdout: string;
  stderr: string;
  /** True when diffship killed it for running past `timeoutMs`. */
  timedOut: boolean;
  /** True when diffship killed it because `signal` aborted. */
  aborted: boolean;
  /** Set when the command could not be started (e.g. `cwd` missing). */
  error?: string;
  durationMs: number;
}

const DEFAULT_MAX_OUTPUT = 256 * 1024;
const DEFAULT_GRACE_MS = 2000;
/** After the shell exits, how long background children may hold its pipes before we stop reading. */
const PIPE_DRAIN_MS = 200;

/** Keeps the last `max` bytes written to it. */
class TailBuffer {
  private chunks: Buffer[] = [];
  private size = 0;
  private readonly max: number;
  truncated = false;
  constructor(max: number) {
    this.max = max;
  }
  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
    while (this.size > this.max && this.chunks.length > 0) {
      const first = this.chunks[0]!;
      const excess = this.size - this.max;
      if (first.length <= excess) {
        this.chunks.shift();
        this.size -= first.length;
      } else {
        this.chunks[0] = first.subarray(excess);
        this.size -= excess;
      }
      this.truncated = true;
    }
  }
  text(): string {
    const body = Buffer.concat(this.chunks).toString('utf8');
    return this.truncated ? `[… earlier output dropped]\n${body}` : body;
  }
}

function killGroup(pid: number, sig: NodeJS.Signals): boolean {
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
  if (!killGroup(pgid, 0 as unknown as NodeJS.Signals)) return false;
  let pids: string[];
  try {
    pids = (await readdir('/proc')).filter((name) => /^\d+$/.test(name));
  } catch {
    return true;
  }
  for (const pid of pids) {
    try {
      const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
      // Fields after the command name: state ppid pgrp …
      const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(pgrp) === pgid && state !== 'Z' && state !== 'X') return true;
    } catch {
      // the process ended while we looked
    }
  }
  return false;
}

/**
 * Run `command` with `/bin/sh -c` in `cwd`. Never rejects: a failing, missing
 * or killed command is described by the result.
 *
 * @example const r = await runLocal('./lb drain soup-a', { cwd, timeoutMs: 30_000 }); if (r.code !== 0) …
 */
export function runLocal(command: string, options: RunLocalOptions): Promise<RunLocalResult> {
  const started = performance.now();
  const grace = options.killGraceMs ?? DEFAULT_GRACE_MS;
  const stdout = new TailBuffer(options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT);
  const stderr = new TailBuffer(options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT);
  const elapsed = () => Math.round(performance.now() - started);

  if (options.signal?.aborted) {
    return Promise.resolve({
      code: null,
      signal: null,
      stdout: '',
      stderr: '',
      timedOut: false,
      aborted: true,
      durationMs: 0,
    });
  }

  return new Promise((resolve) => {
    const child = spawn('/bin/sh', ['-c', command], {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let timedOut = false;
    let aborted = false;
    let killing = false;
    let killTimer: NodeJS.Timeout | undefined;
    let settled = false;

    child.stdout.on('data', (c: Buffer) => stdout.push(c));
    child.stderr.on('data', (c: Buffer) => stderr.push(c));

    const kill = () => {
      if (killing || child.pid === undefined) return;
      killing = true;
      killGroup(child.pid, 'SIGTERM');
      killTimer = setTimeout(() => killGroup(child.pid!, 'SIGKILL'), grace);
    };

    const timer =
      options.timeoutMs && options.timeoutMs > 0
        ? setTimeout(() => {
            timedOut = true;
            kill();
          }, options.timeoutMs)
        : undefined;
    const onAbort = () => {
      aborted = true;
      kill();
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });

    const finish = (
      result: Omit<RunLocalResult, 'stdout' | 'stderr' | 'timedOut' | 'aborted' | 'durationMs'>,
    ) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(killTimer);
      options.signal?.removeEventListener('abort', onAbort);
      child.stdout.destroy();
      child.stderr.destroy();
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
      if (killing && child.pid !== undefined) {
        // The shell is gone; wait (up to the grace period) for the rest of its group,
        // then SIGKILL whatever ignored SIGTERM, so nothing outlives a timeout.
        const pid = child.pid;
        const deadline = performance.now() + grace;
        const poll = async () => {
          if (!(await groupAlive(pid))) return finish(result);
          if (performance.now() >= deadline) {
            killGroup(pid, 'SIGKILL');
            return finish(result);
          }
          setTimeout(() => void poll(), 25);
        };
        void poll();
        return;
      }
      // Background children may keep our pipes open forever (a hook that starts a
      // daemon with `&`): read what arrives shortly, then stop waiting.
      let open = 2;
      const drained = setTimeout(() => finish(result), PIPE_DRAIN_MS);
      const onEnd = () => {
        if (--open === 0) {
          clearTimeout(drained);
          finish(result);
        }
      };
      if (child.stdout.readableEnded) onEnd();
      else child.stdout.once('end', onEnd);
      if (child.stderr.readableEnded) onEnd();
      else child.stderr.once('end', onEnd);
    });
  });
}

/** Durations as diffship.yml writes them (`1m30s`), for messages like "timed out after 5s". */
export const formatDuration = formatCompactDuration;

/** What any command run (local or over a transport) reports about how it ended. */
export interface CommandOutcome {
  code: number | null;
  signal: string | null;
  timedOut: boolean;
  aborted?: boolean;
  error?: string;
}

/** One phrase for how a command ended: `exited with code 3`, `timed out after 5s`, `cancelled`. */
export function describeExit(outcome: CommandOutcome, timeoutMs?: number): string {
  if (outcome.error) return `could not start: ${outcome.error}`;
  if (outcome.timedOut) return timeoutMs ? `timed out after ${formatDuration(timeoutMs)}` : 'timed out';
  if (outcome.aborted) return 'cancelled';
  if (outcome.code !== null) return `exited with code ${outcome.code}`;
  return `killed by ${outcome.signal ?? 'a signal'}`;
}

/**
 * The end of some output, for reports and terminals: at most `maxLines` lines
 * and `maxBytes` bytes (UTF-8), trailing whitespace removed. A cut is marked `…`.
 */
export function trimOutput(text: string, maxLines = 20, maxBytes = 2048): string {
  let out = text.replace(/\s+$/, '');
  let cut = false;
  const lines = out.split('\n');
  if (lines.length > maxLines) {
    out = lines.slice(-maxLines).join('\n');
    cut = true;
  }
  const bytes = Buffer.from(out, 'utf8');
  if (bytes.length > maxBytes) {
    // Skip UTF-8 continuation bytes so we never start inside a character.
    let start = bytes.length - maxBytes;
    while (start < bytes.length && (bytes[start]! & 0xc0) === 0x80) start++;
    out = bytes.subarray(start).toString('utf8');
    cut = true;
  }
  return cut ? `…\n${out}` : out;
}
