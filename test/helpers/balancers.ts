/**
 * Real load balancers for tests: Debian's nginx and haproxy, run as the
 * current user on a loopback port with every pid, log, socket and temp path
 * inside `dir`. Also a bounded client that sends a steady stream of requests
 * through them and counts the failures.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { freePort, waitFor } from './host.js';

export interface RunningBalancer {
  port: number;
  url: string;
  /** For nginx: the command prefix diffship runs (`-t`, `-s reload`). */
  command: string;
  /** nginx: the upstream include file; haproxy: the admin socket. */
  file: string;
  stop(): Promise<void>;
  output(): string;
}

function track(child: ChildProcess): () => string {
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  return () => out;
}

async function stopChild(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

async function answers(url: string): Promise<boolean> {
  const r = await fetch(url).catch(() => null);
  return r !== null && r.status < 500;
}

/** The upstream include file's text for these server addresses. */
export function upstreamText(servers: readonly string[]): string {
  return `# managed by diffship: the servers of upstream "hosts"\n${servers.map((s) => `server ${s};`).join('\n')}\n`;
}

/** Start nginx in front of `servers` (host:port); the upstream lives in `<dir>/upstream.conf`. */
export async function startNginx(dir: string, servers: readonly string[]): Promise<RunningBalancer> {
  mkdirSync(path.join(dir, 'tmp'), { recursive: true });
  const port = await freePort();
  const upstream = path.join(dir, 'upstream.conf');
  writeFileSync(upstream, upstreamText(servers));
  const conf = path.join(dir, 'nginx.conf');
  const tmp = (n: string) => `${n}_temp_path ${path.join(dir, 'tmp', n)};`;
  writeFileSync(
    conf,
    `daemon off;
worker_processes 1;
pid ${path.join(dir, 'nginx.pid')};
error_log ${path.join(dir, 'error.log')} warn;
events { worker_connections 1024; }
http {
  access_log off;
  ${['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map(tmp).join('\n  ')}
  upstream hosts {
    include ${upstream};
  }
  server {
    listen 127.0.0.1:${port};
    location / { proxy_pass http://hosts; }
  }
}
`,
  );
  const command = `nginx -p ${dir} -c ${conf} -e ${path.join(dir, 'error.log')}`;
  const test = spawnSync('sh', ['-c', `${command} -t`], { encoding: 'utf8' });
  if (test.status !== 0) throw new Error(`nginx -t failed: ${test.stderr}`);
  const child = spawn('nginx', ['-p', dir, '-c', conf, '-e', path.join(dir, 'error.log')], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output = track(child);
  const url = `http://127.0.0.1:${port}`;
  await waitFor(() => answers(`${url}/status`), 10_000, `nginx at ${url}`);
  return { port, url, command, file: upstream, output, stop: () => stopChild(child, 'SIGQUIT') };
}

/** Start haproxy in front of `servers` (name → host:port) in backend `hosts`; admin socket `<dir>/admin.sock`. */
export async function startHaproxy(dir: string, servers: Record<string, string>): Promise<RunningBalancer> {
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const socket = path.join(dir, 'admin.sock');
  const conf = path.join(dir, 'haproxy.cfg');
  writeFileSync(
    conf,
    `global
  stats socket ${socket} mode 600 level admin
defaults
  mode http
  timeout connect 2s
  timeout client 30s
  timeout server 30s
frontend fe
  bind 127.0.0.1:${port}
  default_backend hosts
backend hosts
  balance roundrobin
${Object.entries(servers)
  .map(([name, addr]) => `  server ${name} ${addr}`)
  .join('\n')}
`,
  );
  const child = spawn('haproxy', ['-db', '-f', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
  const output = track(child);
  const url = `http://127.0.0.1:${port}`;
  await waitFor(() => answers(`${url}/status`), 10_000, `haproxy at ${url}`);
  return { port, url, command: 'haproxy', file: socket, output, stop: () => stopChild(child, 'SIGUSR1') };
}

export interface LoadResult {
  sent: number;
  failed: number;
  /** Status codes or error messages of failed requests, counted. */
  failures: Record<string, number>;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

/**
 * A steady stream of GET `url` from `concurrency` clients, each waiting
 * `pauseMs` between requests, until `stop()` or `maxRequests` or `maxMs`.
 * Each request opens its own connection (no keep-alive), as many clients do.
 */
export function startLoad(
  url: string,
  options: { concurrency?: number; pauseMs?: number; maxRequests?: number; maxMs?: number } = {},
): { stop(): Promise<LoadResult> } {
  const { concurrency = 4, pauseMs = 5, maxRequests = 50_000, maxMs = 120_000 } = options;
  const deadline = Date.now() + maxMs;
  let stopped = false;
  let sent = 0;
  const latencies: number[] = [];
  const failures: Record<string, number> = {};
  const agent = new http.Agent({ keepAlive: false });
  const one = () =>
    new Promise<void>((resolve) => {
      const t0 = performance.now();
      const done = (failure: string | null) => {
        latencies.push(performance.now() - t0);
        if (failure !== null) failures[failure] = (failures[failure] ?? 0) + 1;
        resolve();
      };
      const req = http.get(url, { agent, timeout: 10_000 }, (res) => {
        res.resume();
        res.on('end', () => done(res.statusCode === 200 ? null : `HTTP ${res.statusCode}`));
        res.on('error', (e) => done(e.message));
      });
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', (e) => done(e.message));
    });
  const client = async () => {
    while (!stopped && sent < maxRequests && Date.now() < deadline) {
      sent++;
      await one();
      await new Promise((r) => setTimeout(r, pauseMs));
    }
  };
  const clients = Promise.all(Array.from({ length: concurrency }, client));
  return {
    async stop() {
      stopped = true;
      await clients;
      agent.destroy();
      const sorted = [...latencies].sort((a, b) => a - b);
      const at = (q: number) =>
        Math.round((sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0) * 10) / 10;
      const failed = Object.values(failures).reduce((a, b) => a + b, 0);
      return { sent, failed, failures, p50Ms: at(0.5), p99Ms: at(0.99), maxMs: at(1) };
    },
  };
}
