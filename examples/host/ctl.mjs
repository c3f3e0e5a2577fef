#!/usr/bin/env node
/**
 * A tiny client for the example host, for hooks on machines without curl:
 *
 *   node examples/host/ctl.mjs <drain|enable|restart|status|health|workflows|in-service>
 *        --port <port> [--host 127.0.0.1] [--state-file <path>] [--timeout 10s]
 *
 * Prints the answer. Exits 0 for a 2xx answer, 1 for any other answer or no
 * answer, 2 for bad usage. `--state-file` reads the port from the file the
 * server wrote with `--state-file`.
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';

const ROUTES = {
  drain: ['POST', '/drain'],
  enable: ['POST', '/enable'],
  restart: ['POST', '/restart'],
  status: ['GET', '/status'],
  health: ['GET', '/health'],
  workflows: ['GET', '/workflows'],
  'in-service': ['GET', '/in-service'],
};

function usage(message) {
  process.stderr.write(`ctl.mjs: ${message}\n`);
  process.stderr.write(
    `usage: node examples/host/ctl.mjs <${Object.keys(ROUTES).join('|')}> --port <port> [--host <host>]\n`,
  );
  process.exit(2);
}

let parsed;
try {
  parsed = parseArgs({
    allowPositionals: true,
    options: {
      port: { type: 'string' },
      host: { type: 'string', default: '127.0.0.1' },
      'state-file': { type: 'string' },
      timeout: { type: 'string', default: '10s' },
    },
  });
} catch (error) {
  usage(error.message);
}
const { values: opts, positionals } = parsed;
const command = positionals[0];
if (!command || !(command in ROUTES))
  usage(command ? `unknown command ${JSON.stringify(command)}` : 'a command is required');

let port = opts.port;
const host = opts.host;
if (!port && opts['state-file']) {
  const state = JSON.parse(await readFile(opts['state-file'], 'utf8'));
  port = String(state.port);
}
if (!port || !/^\d+$/.test(port)) usage('--port <number> (or --state-file) is required');

const timeoutMatch = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(opts.timeout);
if (!timeoutMatch) usage(`--timeout must look like 500ms, 10s or 1m, not ${JSON.stringify(opts.timeout)}`);
const timeoutMs = Number(timeoutMatch[1]) * { ms: 1, s: 1000, m: 60_000 }[timeoutMatch[2] ?? 's'];

const [method, pathname] = ROUTES[command];
const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}${pathname}`;
try {
  const res = await fetch(url, { method, signal: AbortSignal.timeout(timeoutMs) });
  let body = await res.text();
  // JSON answers print on one line, so a hook's log (and diffship's step detail) reads as one line.
  try {
    body = JSON.stringify(JSON.parse(body));
  } catch {
    // not JSON: print as it is
  }
  process.stdout.write(body.endsWith('\n') ? body : `${body}\n`);
  if (!res.ok) process.stderr.write(`${method} ${url} → ${res.status}\n`);
  process.exit(res.ok ? 0 : 1);
} catch (error) {
  const reason =
    error?.cause?.code === 'ECONNREFUSED' ? 'connection refused' : (error?.cause?.message ?? error.message);
  process.stderr.write(`${method} ${url} → ${reason}\n`);
  process.exit(1);
}
