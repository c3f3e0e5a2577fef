/** Run the real CLI as a user would: a child process of `node bin/diffship.js`. */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The command package.json names (a CommonJS launcher that loads bin/diffship.js). */
export const BIN = fileURLToPath(new URL('../../bin/diffship.cjs', import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run `diffship ...args` in `cwd` and wait for it. */
export function cli(cwd: string, args: string[], env: NodeJS.ProcessEnv = {}): CliResult {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1', ...env },
    timeout: 120_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Start `diffship ...args` without waiting; collect its output. */
export function cliStart(
  cwd: string,
  args: string[],
  env: NodeJS.ProcessEnv = {},
  /** The node binary (default: the one running the tests). */
  node = process.execPath,
): {
  child: ChildProcess;
  done: Promise<CliResult>;
} {
  const child = spawn(node, [BIN, ...args], {
    cwd,
    env: { ...process.env, NO_COLOR: '1', ...env },
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<CliResult>((resolve) =>
    child.on('close', (code) => resolve({ code, stdout, stderr })),
  );
  return { child, done };
}

/** `diffship ...args` with no colour variables set unless `env` sets them (for the colour tests). */
export function runCli(
  args: readonly string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): CliResult {
  const env = { ...process.env };
  delete env.FORCE_COLOR;
  delete env.NO_COLOR;
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd: options.cwd ?? fileURLToPath(new URL('../..', import.meta.url)),
    env: { ...env, ...options.env },
    encoding: 'utf8',
    maxBuffer: 1 << 28,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
