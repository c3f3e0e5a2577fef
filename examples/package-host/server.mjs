#!/usr/bin/env node
/**
 * An example package server: a small stand-in for a webMethods Integration
 * Server. It loads the packages in `<dir>/packages/<Name>/` (each with a
 * `manifest.v3`: version, requires) and serves their load status.
 *
 *   node examples/package-host/server.mjs --dir <folder> [--port 0] [--host 127.0.0.1]
 *        [--name is1] [--log <file>] [--no-cascade]
 *
 *   GET  /admin/packages              every package: { name, loaded, version, enabled }
 *   GET  /admin/package/<Name>        { name, loaded: yes|partial|no, version, requires, errors }
 *   POST /admin/package/<Name>?action=reload|activate|disable
 *   GET  /admin/log                   every call and load, in order (also appended to --log as JSON lines)
 *
 * At start every package in the folder loads (in dependency order). A package
 * copied in later stays inactive (`loaded: no`) until `activate` or `reload`.
 * A package's files are read when it loads: a later change serves nothing new
 * until the next reload. `reload` reloads the package, then (unless
 * --no-cascade) the loaded packages that depend on it, in dependency order, as
 * IS does. Services are the `*.json` files of a package: one that does not
 * parse fails, and the package loads `partial`. A missing or unreadable
 * manifest.v3, or a required package that is not loaded, loads `no`.
 * Plain ESM JavaScript, no dependencies. See docs/units.md.
 */
import { appendFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { parseArgs } from 'node:util';

const { values: opts } = parseArgs({
  options: {
    dir: { type: 'string' },
    port: { type: 'string', default: '0' },
    host: { type: 'string', default: '127.0.0.1' },
    name: { type: 'string' },
    log: { type: 'string' },
    'no-cascade': { type: 'boolean', default: false },
  },
  strict: true,
});
if (!opts.dir) {
  process.stderr.write(
    'usage: node examples/package-host/server.mjs --dir <folder> [--port N] [--log file]\n',
  );
  process.exit(2);
}
const DIR = path.resolve(opts.dir);
const NAME = opts.name ?? path.basename(DIR);
const CASCADE = !opts['no-cascade'];

/** name → { name, loaded, version, requires, errors, services, enabled } */
const packages = new Map();
const calls = [];

function record(entry) {
  const line = { t: new Date().toISOString(), ...entry };
  calls.push(line);
  if (opts.log) appendFileSync(opts.log, `${JSON.stringify(line)}\n`);
  process.stdout.write(
    `[${NAME}] ${entry.event} ${entry.package ?? ''} ${entry.loaded ?? entry.action ?? ''}\n`,
  );
}

/** Same reading as diffship's src/units/manifest-v3.ts, kept dependency-free. */
function parseManifest(text) {
  if (!/<Values\b/.test(text)) throw new Error('not a manifest.v3');
  const body = text.replace(/<!--[\s\S]*?-->/g, '');
  const value = /<value\s+name\s*=\s*(["'])(.*?)\1[^>]*?(?:\/>|>([\s\S]*?)<\/value\s*>)/g;
  const requires = [];
  const rec = /<record\s+name\s*=\s*(["'])requires\1[^>]*?(?:\/>|>([\s\S]*?)<\/record\s*>)/.exec(body);
  if (rec?.[2]) for (const m of rec[2].matchAll(value)) requires.push(m[2]);
  let version = null;
  const top = body.replace(/<record\b[^>]*?(?:\/>|>[\s\S]*?<\/record\s*>)/g, '');
  for (const m of top.matchAll(value)) if (m[2] === 'version') version = (m[3] ?? '').trim();
  return { version, requires };
}

async function listFiles(dir, rel = '') {
  const out = [];
  for (const e of await readdir(path.join(dir, rel), { withFileTypes: true }).catch(() => [])) {
    const p = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...(await listFiles(dir, p)));
    else out.push(p);
  }
  return out.sort();
}

const isOk = (p) => p && (p.loaded === 'yes' || p.loaded === 'partial');

/** Read a package from disk now and decide its load status. */
async function load(name, why) {
  const dir = path.join(DIR, 'packages', name);
  const pkg = { name, loaded: 'no', version: null, requires: [], services: [], errors: [], enabled: true };
  try {
    Object.assign(pkg, parseManifest(await readFile(path.join(dir, 'manifest.v3'), 'utf8')));
  } catch (error) {
    pkg.errors.push(`manifest.v3: ${error.code === 'ENOENT' ? 'missing' : error.message}`);
  }
  if (pkg.errors.length === 0) {
    const missing = pkg.requires.filter((r) => !r.startsWith('Wm') && !isOk(packages.get(r)));
    if (missing.length > 0) pkg.errors.push(`requires ${missing.join(', ')}, not loaded`);
  }
  if (pkg.errors.length === 0) {
    let failed = 0;
    for (const f of (await listFiles(dir)).filter((f) => f.endsWith('.json'))) {
      try {
        JSON.parse(await readFile(path.join(dir, f), 'utf8'));
        pkg.services.push(f);
      } catch (error) {
        failed++;
        pkg.errors.push(`${f}: ${error.message}`);
      }
    }
    pkg.loaded = failed === 0 ? 'yes' : pkg.services.length > 0 ? 'partial' : 'no';
  }
  packages.set(name, pkg);
  record({ event: 'load', package: name, why, loaded: pkg.loaded, version: pkg.version });
  return pkg;
}

/** Loaded packages that depend on `name`, directly or not, dependencies first. */
function dependentsOf(name) {
  const out = [];
  const seen = new Set([name]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const p of [...packages.values()].sort((a, b) => (a.name < b.name ? -1 : 1))) {
      if (seen.has(p.name) || !p.enabled) continue;
      if (p.requires.some((r) => seen.has(r))) {
        seen.add(p.name);
        out.push(p.name);
        grew = true;
      }
    }
  }
  return out;
}

async function folders() {
  const entries = await readdir(path.join(DIR, 'packages'), { withFileTypes: true }).catch(() => []);
  return entries
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
}

/** Boot: load every package, dependencies first (a package waits for what it requires). */
async function boot() {
  const names = await folders();
  const manifests = new Map();
  for (const n of names) {
    try {
      manifests.set(
        n,
        parseManifest(await readFile(path.join(DIR, 'packages', n, 'manifest.v3'), 'utf8')).requires,
      );
    } catch {
      manifests.set(n, []);
    }
  }
  const done = new Set();
  const visit = async (n, stack) => {
    if (done.has(n) || stack.includes(n)) return;
    for (const r of manifests.get(n) ?? []) if (manifests.has(r)) await visit(r, [...stack, n]);
    done.add(n);
    await load(n, 'boot');
  };
  for (const n of names) await visit(n, []);
}

function send(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(`${JSON.stringify(body)}\n`);
}

const view = (p) => ({
  name: p.name,
  loaded: p.loaded,
  version: p.version,
  enabled: p.enabled,
  requires: p.requires,
  errors: p.errors,
});

const server = http.createServer(async (req, res) => {
  const url = new URL(req.url ?? '/', 'http://x');
  const m = /^\/admin\/package\/([^/]+)$/.exec(url.pathname);
  try {
    if (req.method === 'GET' && url.pathname === '/admin/packages')
      return send(res, 200, [...packages.values()].map(view));
    if (req.method === 'GET' && url.pathname === '/admin/log') return send(res, 200, calls);
    if (m && req.method === 'GET') {
      const name = decodeURIComponent(m[1]);
      const p = packages.get(name);
      if (p) return send(res, 200, view(p));
      const onDisk = (await folders()).includes(name);
      return send(res, onDisk ? 200 : 404, {
        name,
        loaded: 'no',
        version: null,
        enabled: false,
        inactive: onDisk,
      });
    }
    if (m && req.method === 'POST') {
      const name = decodeURIComponent(m[1]);
      const action = url.searchParams.get('action');
      if (!['reload', 'activate', 'disable'].includes(action ?? ''))
        return send(res, 400, { error: `action must be reload, activate or disable, not ${action}` });
      record({ event: 'call', action, package: name });
      if (action === 'disable') {
        packages.set(name, {
          ...(packages.get(name) ?? { name, requires: [], errors: [] }),
          loaded: 'no',
          enabled: false,
        });
        return send(res, 200, { name, loaded: 'no' });
      }
      if (!(await folders()).includes(name)) return send(res, 404, { error: `no package ${name}` });
      if (action === 'activate' && isOk(packages.get(name))) return send(res, 200, view(packages.get(name)));
      const p = await load(name, action);
      if (action === 'reload' && CASCADE)
        for (const d of dependentsOf(name)) await load(d, `dependent of ${name}`);
      return send(res, 200, view(p));
    }
    send(res, 404, { error: 'not found' });
  } catch (error) {
    send(res, 500, { error: String(error?.message ?? error) });
  }
});

await boot();
server.listen(Number(opts.port), opts.host, () => {
  process.stdout.write(`[${NAME}] listening on http://${opts.host}:${server.address().port}\n`);
});
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => server.close(() => process.exit(0)));
