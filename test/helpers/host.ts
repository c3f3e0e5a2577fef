/**
 * Test helpers around the example integration host (examples/host/server.mjs):
 * start the real server as a child process on a free port and wait until it
 * answers. Also a stand-in for a transport's `exec` (the local transport's
 * behaviour: a shell in the target folder) for tests of `remote` commands.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { access } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runLocal } from '../../src/transport/local/run-local.js';
import type { ExecOptions, ExecResult, Transport } from '../../src/transport/transport.js';

const SERVER = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../examples/host/server.mjs');
export const CTL = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../examples/host/ctl.mjs');

/** A free TCP port on 127.0.0.1 (bound, read, released). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  server.close();
  await once(server, 'close');
  return port;
}

/** `exec` of a transport whose target root is `dir`, as the local transport does it. */
export function folderExec(dir: string): Pick<Transport, 'exec'> {
  return {
    async exec(command: string, options: ExecOptions = {}): Promise<ExecResult> {
      const r = await runLocal(command, {
        cwd: dir,
        env: options.env,
        timeoutMs: options.timeoutMs,
        signal: options.signal,
      });
      return { code: r.code, signal: r.signal, stdout: r.stdout, stderr: r.stderr, timedOut: r.timedOut };
    },
  };
}

export interface StartHostOptions {
  dir: string;
  importMode?: 'automatic' | 'on-restart';
  port?: number;
  stateFile?: string;
  /** Extra arguments for server.mjs. */
  args?: string[];
}

export interface RunningHost {
  port: number;
  url: string;
  /** Everything the server printed so far. */
  output(): string;
  /** GET/POST a path, returning status and body text. */
  request(pathname: string, method?: string): Promise<{ status: number; body: string }>;
  /** GET a path and parse it as JSON. */
  json<T = unknown>(pathname: string): Promise<T>;
  /** POST /restart: the host re-imports its folder in place (what the demo's `activate` hook does). */
  reload(): Promise<void>;
  /** Stop the process and start it again on the same port (a real restart). */
  restart(): Promise<void>;
  /** SIGTERM the server and wait for it to exit. */
  stop(): Promise<void>;
  readonly child: ChildProcess;
}

/** Wait until `fn` returns a truthy value, polling; fail after `timeoutMs`. */
export async function waitFor<T>(
  fn: () => Promise<T | null | undefined | false> | T | null | undefined | false,
  timeoutMs = 5000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await fn();
      if (value) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Spawn server.mjs and wait until GET /status answers and its state file exists (or the process exits). */
async function spawnHost(
  args: string[],
  url: string,
  stateFile?: string,
): Promise<{ child: ChildProcess; output: () => string }> {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
  const exited = once(child, 'exit').then(([code]) => {
    throw new Error(`host exited with code ${String(code)}:\n${output}`);
  });
  exited.catch(() => {}); // only an error while we wait for the start
  const ready = waitFor(
    async () => {
      const res = await fetch(`${url}/status`).catch(() => null);
      // Our process, not another one on the same port.
      const pid = res?.status === 200 ? ((await res.json()) as { pid?: number }).pid : undefined;
      // The server writes its state file right after it starts listening.
      const written = stateFile
        ? await access(stateFile).then(
            () => true,
            () => false,
          )
        : true;
      return pid === child.pid && written;
    },
    10_000,
    `host at ${url}`,
  );
  try {
    await Promise.race([ready, exited]);
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  return { child, output: () => output };
}

/**
 * Start examples/host/server.mjs on a free port and wait until it answers.
 *
 * @example const host = await startHost({ dir, importMode: 'automatic' }); … await host.stop();
 */
export async function startHost(options: StartHostOptions): Promise<RunningHost> {
  const port = options.port ?? (await freePort());
  const args = [
    SERVER,
    '--dir',
    options.dir,
    '--port',
    String(port),
    '--import',
    options.importMode ?? 'automatic',
  ];
  if (options.stateFile) args.push('--state-file', options.stateFile);
  args.push(...(options.args ?? []));
  const url = `http://127.0.0.1:${port}`;
  let current = await spawnHost(args, url, options.stateFile);
  let previousOutput = '';

  const request = async (pathname: string, method = 'GET') => {
    const res = await fetch(url + pathname, { method });
    return { status: res.status, body: await res.text() };
  };
  const stop = async () => {
    const { child } = current;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    await exited;
  };

  return {
    port,
    url,
    get child() {
      return current.child;
    },
    output: () => previousOutput + current.output(),
    request,
    json: async <T>(pathname: string) => JSON.parse((await request(pathname)).body) as T,
    async reload() {
      const r = await request('/restart', 'POST');
      if (r.status !== 200) throw new Error(`POST /restart → ${r.status} ${r.body}`);
    },
    async restart() {
      await stop();
      previousOutput += current.output();
      current = await spawnHost(args, url, options.stateFile);
    },
    stop,
  };
}
