import { spawn } from 'node:child_process';
import { DiffshipError, TransportError } from '../errors.js';
import type { ExecResult } from './transport.js';

/** Output kept per stream; the rest is dropped (hooks can be chatty). */
export const OUTPUT_CAP = 1024 * 1024;
/** Time between TERM and KILL when a command is stopped. */
export const KILL_GRACE_MS = 2000;
/** After the shell exits, how long to wait for its output pipes to close (a background child may hold them). */
const DRAIN_MS = 500;

export interface LocalCommandOptions {
  cwd: string;
  env?: Record<string, string>;
  timeoutMs?: number;
  signal?: AbortSignal;
}

/**
 * Run a shell command line with `/bin/sh -c` on this machine. The command gets
 * its own process group, so a timeout or an abort stops everything it started
 * (TERM to the group, KILL after a grace period). Output is captured, capped
 * at 1 MiB per stream. Used by the local transport and usable for `run` hooks.
 *
 * @example await runLocalCommand('make check', { cwd: '/srv/app', timeoutMs: 30_000 })
 */
export function runLocalCommand(command: string, options: LocalCommandOptions): Promise<ExecResult> {
  const { signal } = options;
  if (signal?.aborted) return Promise.reject(cancelled());
  return new Promise<ExecResult>((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', command], {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    const stdout = capture(child.stdout);
    const stderr = capture(child.stderr);
    let timedOut = false;
    let aborted = false;
    let killTimer: NodeJS.Timeout | undefined;
    let settled = false;

    const stop = () => {
      if (killTimer || child.exitCode !== null || child.signalCode !== null) return;
      killGroup(child.pid, 'SIGTERM');
      killTimer = setTimeout(() => killGroup(child.pid, 'SIGKILL'), KILL_GRACE_MS);
      killTimer.unref();
    };
    const timer =
      options.timeoutMs !== undefined && options.timeoutMs > 0
        ? setTimeout(() => {
            timedOut = true;
            stop();
          }, options.timeoutMs)
        : undefined;
    const onAbort = () => {
      aborted = true;
      stop();
    };
    signal?.addEventListener('abort', onAbort, { once: true });

    const finish = (result: ExecResult | Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(killTimer);
      signal?.removeEventListener('abort', onAbort);
      if (result instanceof Error) reject(result);
      else if (aborted) reject(cancelled());
      else resolve(result);
    };

    child.on('error', (error) => {
      finish(
        new TransportError('E_TRANSPORT', `cannot run a command in ${options.cwd}: ${error.message}`, {
          cause: error,
        }),
      );
    });
    child.on('exit', (code, sig) => {
      // The group may still hold our pipes (a backgrounded daemon): wait a little, then stop reading.
      const drain = setTimeout(() => {
        child.stdout.destroy();
        child.stderr.destroy();
        done();
      }, DRAIN_MS);
      let closed = false;
      const done = () => {
        if (closed) return;
        closed = true;
        clearTimeout(drain);
        finish({ code, signal: sig, stdout: stdout.text(), stderr: stderr.text(), timedOut });
      };
      child.once('close', done);
    });
  });
}

function killGroup(pid: number | undefined, sig: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, sig);
  } catch {
    // Already gone.
  }
}

function capture(stream: NodeJS.ReadableStream): { text(): string } {
  const chunks: Buffer[] = [];
  let size = 0;
  stream.on('data', (chunk: Buffer) => {
    if (size >= OUTPUT_CAP) return;
    const room = OUTPUT_CAP - size;
    const piece = chunk.length > room ? chunk.subarray(0, room) : chunk;
    chunks.push(piece);
    size += piece.length;
  });
  return { text: () => Buffer.concat(chunks).toString('utf8') };
}

// The command text stays out of messages: it may carry expanded secrets.
function cancelled(): DiffshipError {
  return new DiffshipError('E_CANCELLED', 'command cancelled before it finished');
}
