#!/usr/bin/env node
/**
 * An example integration host: a small stand-in for an integration engine
 * (Integration Soup, Mirth, BizTalk…) that imports workflow files from a
 * folder. diffship's tests and demo deploy to its folder and verify it.
 *
 *   node examples/host/server.mjs --dir <workflow folder> --port <port>
 *        [--import automatic|on-restart] [--state-file <path>] [--name <name>]
 *        [--host 127.0.0.1] [--poll-ms 200] [--state-dir .diffship]
 *        [--import-delay <ms>] [--restart-delay <ms>] [--ignore-older]
 *
 * Plain ESM JavaScript, no dependencies. See docs/example-host.md for the
 * workflow file format and every endpoint.
 */
import { watch } from 'node:fs';
import { readdir, readFile, rm, stat, writeFile, rename } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { blobId, problemsOf, wellFormed } from './workflow.mjs';

const { values: opts } = parseArgs({
  options: {
    dir: { type: 'string' },
    port: { type: 'string', default: '0' },
    host: { type: 'string', default: '127.0.0.1' },
    import: { type: 'string', default: 'automatic' },
    'state-file': { type: 'string' },
    'state-dir': { type: 'string', default: '.diffship' },
    name: { type: 'string' },
    'poll-ms': { type: 'string', default: '200' },
    'import-delay': { type: 'string', default: '0' },
    'restart-delay': { type: 'string', default: '0' },
    'ignore-older': { type: 'boolean', default: false },
  },
  strict: true,
});

function usage(message) {
  process.stderr.write(`server.mjs: ${message}\n`);
  process.stderr.write(
    'usage: node examples/host/server.mjs --dir <folder> --port <port> [--import automatic|on-restart] [--state-file <path>]\n',
  );
  process.exit(2);
}

if (!opts.dir) usage('--dir is required');
if (opts.import !== 'automatic' && opts.import !== 'on-restart') {
  usage(`--import must be automatic or on-restart, not ${JSON.stringify(opts.import)}`);
}
const DIR = path.resolve(opts.dir);
const MODE = opts.import;
const NAME = opts.name ?? path.basename(DIR);
const POLL_MS = Number(opts['poll-ms']);
const IMPORT_DELAY_MS = Number(opts['import-delay']);
const RESTART_DELAY_MS = Number(opts['restart-delay']);
const IGNORE_OLDER = opts['ignore-older'];
const STATE_JSON = path.join(DIR, opts['state-dir'], 'state.json');

// ---------------------------------------------------------------- the engine

/** @typedef {{ path: string, blob: string, name: string, valid: boolean, problems: string[], loadedAt: string, mtimeMs: number }} Loaded */
/** @typedef {{ path: string, blob: string | null, reason: string }} Ignored */

/** Loaded workflows by path (POSIX, relative to DIR). */
const loaded = new Map();
/** Files seen but not loaded (not complete or not well-formed), by path. */
const ignored = new Map();
/** Signatures (size/mtime/inode) of the files as last examined, to spot changes cheaply. */
let seen = new Map();
/** Files changed on disk since the last import (on-restart mode waits for a restart). */
let pending = new Set();
let release = null;
let stateSignature = '';
let importedAt = null;
let imports = 0;
let inService = true;
let restarting = false;
const startedAt = new Date().toISOString();

function log(message) {
  process.stdout.write(`[${NAME}] ${message}\n`);
}

/** Every `*.json` file below DIR with its signature, skipping names that start with `.` (the state folder). */
async function listFiles(rel = '', out = new Map()) {
  let entries;
  try {
    entries = await readdir(path.join(DIR, rel), { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries) {
    if (e.name.startsWith('.')) continue;
    const p = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) await listFiles(p, out);
    else if (e.isFile() && e.name.endsWith('.json')) {
      try {
        const s = await stat(path.join(DIR, p));
        out.set(p, `${s.size}:${s.mtimeMs}:${s.ino}`);
      } catch {
        // gone between readdir and stat
      }
    }
  }
  return out;
}

async function readRelease() {
  try {
    const s = await stat(STATE_JSON);
    const signature = `${s.size}:${s.mtimeMs}:${s.ino}`;
    const state = JSON.parse(await readFile(STATE_JSON, 'utf8'));
    return { signature, release: typeof state.release === 'string' ? state.release : null };
  } catch {
    return { signature: 'none', release: null };
  }
}

/** Examine one file: load it, or record why not (keeping a loaded older version running). */
async function importFile(p) {
  let bytes;
  let mtimeMs;
  try {
    mtimeMs = (await stat(path.join(DIR, p))).mtimeMs;
    bytes = await readFile(path.join(DIR, p));
  } catch {
    return unload(p);
  }
  const blob = blobId(bytes);
  const current = loaded.get(p);
  if (current?.blob === blob) {
    ignored.delete(p);
    return;
  }
  // Like engines that import on arrival and skip files that look older than what they run.
  if (IGNORE_OLDER && current && mtimeMs <= current.mtimeMs) {
    if (ignored.get(p)?.blob !== blob) log(`ignored ${p}: not newer than the loaded version`);
    ignored.set(p, { path: p, blob, reason: 'not newer than the loaded version' });
    return;
  }
  const { doc, reason } = wellFormed(bytes.toString('utf8'));
  if (!doc) {
    if (ignored.get(p)?.blob !== blob) {
      log(`ignored ${p}: ${reason}${current ? ` (still running the version loaded before)` : ''}`);
    }
    ignored.set(p, { path: p, blob, reason });
    return;
  }
  ignored.delete(p);
  const problems = problemsOf(doc);
  const loadedAt = new Date().toISOString();
  loaded.set(p, { path: p, blob, name: doc.name, valid: problems.length === 0, problems, loadedAt, mtimeMs });
  log(
    `imported ${p} (blob ${blob.slice(0, 7)}, ${JSON.stringify(doc.name)})` +
      (problems.length ? ` — INVALID: ${problems.join('; ')}` : ''),
  );
}

function unload(p) {
  if (loaded.delete(p)) log(`unloaded ${p}`);
  ignored.delete(p);
}

/** Bring the loaded set in line with the folder: only changed files, or all of them (`full`, a restart). */
async function importFolder({ full = false } = {}) {
  const files = await listFiles();
  if (full) {
    loaded.clear();
    ignored.clear();
  }
  for (const [p, signature] of files) {
    if (full || seen.get(p) !== signature || (!loaded.has(p) && !ignored.has(p))) await importFile(p);
  }
  for (const p of [...loaded.keys(), ...ignored.keys()]) if (!files.has(p)) unload(p);
  seen = files;
  pending = new Set();
  const state = await readRelease();
  stateSignature = state.signature;
  if (state.release !== release) log(`release ${state.release ?? 'none'}`);
  release = state.release;
  importedAt = new Date().toISOString();
  imports++;
}

/** Files that differ from what was examined last (and whether the release marker moved). */
async function changes() {
  const files = await listFiles();
  const changed = new Set();
  for (const [p, signature] of files) if (seen.get(p) !== signature) changed.add(p);
  for (const p of seen.keys()) if (!files.has(p)) changed.add(p);
  const state = await readRelease();
  return { changed, stateChanged: state.signature !== stateSignature };
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// One scan at a time; a request for another while one runs is merged into the next.
let scanning = null;
let rescan = false;
function scan() {
  if (scanning) {
    rescan = true;
    return scanning;
  }
  scanning = (async () => {
    do {
      rescan = false;
      if (restarting) break;
      const { changed, stateChanged } = await changes();
      if (MODE === 'automatic') {
        if (changed.size > 0 || stateChanged) {
          if (IMPORT_DELAY_MS > 0) await sleep(IMPORT_DELAY_MS);
          await importFolder();
        }
      } else {
        for (const p of changed) {
          if (!pending.has(p)) log(`${p} changed on disk; it will be imported at the next restart`);
          pending.add(p);
        }
      }
    } while (rescan);
  })().finally(() => {
    scanning = null;
  });
  return scanning;
}

/** A restart of the engine in place: drop everything and import the folder again. */
async function restart(reason) {
  if (restarting) return;
  restarting = true;
  log(`restarting (${reason})`);
  try {
    if (RESTART_DELAY_MS > 0) await sleep(RESTART_DELAY_MS);
    await scanning;
    await importFolder({ full: true });
    log(`restarted: ${loaded.size} workflow(s) loaded`);
  } finally {
    restarting = false;
  }
}

// ---------------------------------------------------------------- HTTP

function unhealthy() {
  const out = [];
  for (const w of [...loaded.values()].sort(byPath)) for (const p of w.problems) out.push(`${w.path}: ${p}`);
  return out;
}

function byPath(a, b) {
  return a.path < b.path ? -1 : a.path > b.path ? 1 : 0;
}

function workflows() {
  return {
    name: NAME,
    importMode: MODE,
    release,
    importedAt,
    imports,
    files: [...loaded.values()].sort(byPath),
    ignored: [...ignored.values()].sort(byPath),
    pending: [...pending].sort(),
  };
}

function status() {
  return {
    name: NAME,
    pid: process.pid,
    port: server.address()?.port ?? null,
    dir: DIR,
    importMode: MODE,
    inService,
    restarting,
    healthy: !restarting && unhealthy().length === 0,
    release,
    workflows: loaded.size,
    invalid: [...loaded.values()].filter((w) => !w.valid).length,
    ignored: ignored.size,
    pending: pending.size,
    imports,
    startedAt,
    importedAt,
  };
}

function send(res, code, body) {
  const json = typeof body !== 'string';
  res.writeHead(code, { 'content-type': json ? 'application/json' : 'text/plain; charset=utf-8' });
  res.end(json ? `${JSON.stringify(body, null, 2)}\n` : body);
}

const server = http.createServer(async (req, res) => {
  const url = new URL(req.url ?? '/', 'http://host');
  const route = `${req.method} ${url.pathname}`;
  try {
    switch (route) {
      case 'GET /health': {
        const tail = `release: ${release ?? 'none'}\nworkflows: ${loaded.size}\n`;
        if (restarting) return send(res, 503, `restarting\n${tail}`);
        const problems = unhealthy();
        if (problems.length) return send(res, 503, `invalid\n${problems.join('\n')}\n${tail}`);
        return send(res, 200, `ok\n${tail}`);
      }
      case 'GET /workflows':
        return send(res, 200, workflows());
      case 'GET /status':
        return send(res, 200, status());
      case 'GET /in-service':
        return inService ? send(res, 200, 'in service\n') : send(res, 503, 'draining\n');
      case 'POST /drain':
        if (inService) log('drained: out of service');
        inService = false;
        return send(res, 200, status());
      case 'POST /enable':
        if (!inService) log('enabled: back in service');
        inService = true;
        return send(res, 200, status());
      case 'POST /restart':
        await restart('POST /restart');
        return send(res, 200, workflows());
      default:
        return send(res, 404, `no route ${route}\n`);
    }
  } catch (error) {
    return send(res, 500, `${error.stack ?? error}\n`);
  }
});

// ---------------------------------------------------------------- lifecycle

async function writeStateFile() {
  if (!opts['state-file']) return;
  const file = path.resolve(opts['state-file']);
  const { port } = server.address();
  const body = {
    pid: process.pid,
    port,
    url: `http://${opts.host}:${port}`,
    dir: DIR,
    importMode: MODE,
    name: NAME,
  };
  await writeFile(`${file}.tmp`, `${JSON.stringify(body, null, 2)}\n`);
  await rename(`${file}.tmp`, file);
}

let stopping = false;
async function shutdown(signal) {
  if (stopping) return;
  stopping = true;
  log(`stopping (${signal})`);
  clearInterval(poller);
  watcher?.close();
  if (opts['state-file']) await rm(path.resolve(opts['state-file']), { force: true });
  server.close(() => process.exit(0));
  server.closeAllConnections();
  setTimeout(() => process.exit(0), 1000).unref();
}

await importFolder({ full: true });
log(`${MODE} import from ${DIR}: ${loaded.size} workflow(s) loaded`);

// fs.watch makes imports quick where it works; the poll makes them certain where it does not.
let watcher = null;
try {
  watcher = watch(DIR, { recursive: true }, () => void scan());
  watcher.on('error', () => {
    watcher?.close();
    watcher = null;
  });
} catch {
  watcher = null;
}
const poller = setInterval(() => void scan(), POLL_MS);

process.on('SIGHUP', () => void restart('SIGHUP'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));

server.on('error', (error) => {
  process.stderr.write(`[${NAME}] cannot listen on ${opts.host}:${opts.port}: ${error.message}\n`);
  process.exit(1);
});
server.listen(Number(opts.port), opts.host, async () => {
  await writeStateFile();
  log(`listening on http://${opts.host}:${server.address().port}`);
});
