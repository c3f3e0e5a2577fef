/**
 * The demo's example hosts: `examples/host/server.mjs` children, each on a
 * port it picks itself (`--port 0`, read back from its `--state-file`, so no
 * other process can take the port in between), logging to a file. Every host
 * started is tracked, so that any way out of the demo stops them.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, openSync, closeSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DiffshipError } from '../errors.js';

/**
 * The package's `examples/host/` folder. This file is `src/demo/hosts.ts`, or
 * `lib/demo/hosts.js` once built: two folders below the package root either way.
 */
const EXAMPLE_HOST_DIR = fileURLToPath(new URL('../../examples/host/', import.meta.url));

export interface DemoHost {
  name: string;
  port: number;
  url: string;
  dir: string;
  importMode: 'automatic' | 'on-restart';
  log: string;
  child: ChildProcess;
}

export interface HostAnswer {
  status: number;
  body: string;
}

/** The hosts of one demo run. */
export class DemoHosts {
  readonly all: DemoHost[] = [];

  /** `server.mjs` and `ctl.mjs`, or a DiffshipError saying the package is incomplete. */
  static files(): { server: string; ctl: string } {
    const server = path.join(EXAMPLE_HOST_DIR, 'server.mjs');
    const ctl = path.join(EXAMPLE_HOST_DIR, 'ctl.mjs');
    if (!existsSync(server) || !existsSync(ctl)) {
      throw new DiffshipError(
        'E_USAGE',
        `the demo needs the example host, but ${server} is missing — reinstall diffship (its package ships examples/)`,
      );
    }
    return { server, ctl };
  }

  /** Start one host serving `dir` and wait until it answers with its own pid. */
  async start(options: {
    name: string;
    dir: string;
    importMode: 'automatic' | 'on-restart';
    logDir: string;
    signal?: AbortSignal;
  }): Promise<DemoHost> {
    const { server } = DemoHosts.files();
    await mkdir(options.dir, { recursive: true });
    await mkdir(options.logDir, { recursive: true });
    const log = path.join(options.logDir, `${options.name}.log`);
    const stateFile = path.join(options.logDir, `${options.name}.json`);
    const fd = openSync(log, 'a');
    let child: ChildProcess;
    try {
      // Its own process group: a Ctrl-C in the terminal reaches the demo, which
      // then finishes the rollout in flight against live hosts and stops them itself.
      child = spawn(
        process.execPath,
        [
          server,
          '--dir',
          options.dir,
          '--port',
          '0',
          '--import',
          options.importMode,
          '--name',
          options.name,
          '--state-file',
          stateFile,
          '--poll-ms',
          '100',
        ],
        { stdio: ['ignore', fd, fd], detached: true },
      );
    } finally {
      closeSync(fd);
    }
    const host: DemoHost = {
      name: options.name,
      port: 0,
      url: '',
      dir: options.dir,
      importMode: options.importMode,
      log,
      child,
    };
    this.all.push(host);

    const deadline = Date.now() + 15_000;
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) {
        const output = await readFile(log, 'utf8').catch(() => '');
        throw new DiffshipError(
          'E_USAGE',
          `example host ${options.name} exited at start (${child.exitCode ?? child.signalCode}): ${output.trim().split('\n').pop() ?? ''}`,
        );
      }
      if (options.signal?.aborted) throw new DiffshipError('E_CANCELLED', 'cancelled');
      const state = await readFile(stateFile, 'utf8')
        .then((t) => JSON.parse(t) as { pid: number; port: number })
        .catch(() => null);
      if (state && state.pid === child.pid) {
        host.port = state.port;
        host.url = `http://127.0.0.1:${state.port}`;
        const status = await request(host, '/status').catch(() => null);
        if (status?.status === 200) return host;
      }
      if (Date.now() > deadline) {
        throw new DiffshipError(
          'E_CONNECT',
          `example host ${options.name} did not answer within 15s (see ${log})`,
        );
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** SIGTERM every host and wait (up to 3 s each, then SIGKILL) until it has exited. */
  async stopAll(): Promise<void> {
    await Promise.all(
      this.all.map(async (h) => {
        const c = h.child;
        if (c.exitCode !== null || c.signalCode !== null) return;
        const exited = once(c, 'exit');
        c.kill('SIGTERM');
        const timer = setTimeout(() => c.kill('SIGKILL'), 3000);
        await exited;
        clearTimeout(timer);
      }),
    );
  }

  /** Synchronous last resort (process exit, a third Ctrl-C): signal every host still running. */
  killAll(signal: NodeJS.Signals = 'SIGTERM'): void {
    for (const h of this.all) {
      if (h.child.exitCode === null && h.child.signalCode === null) h.child.kill(signal);
    }
  }
}

/** One HTTP request to a host (2 s budget). */
export async function request(host: DemoHost, pathname: string, method = 'GET'): Promise<HostAnswer> {
  const res = await fetch(host.url + pathname, { method, signal: AbortSignal.timeout(2000) });
  return { status: res.status, body: await res.text() };
}
