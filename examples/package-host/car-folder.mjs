#!/usr/bin/env node
/**
 * An example hot-deploy folder like WSO2 Micro Integrator's: every
 * --interval-ms it scans `<dir>/*.car` and (re)deploys the carbon apps it finds.
 *
 *   node examples/package-host/car-folder.mjs --dir <folder> [--port 0] [--interval-ms 15000]
 *
 *   GET /management/applications        { count, list: [{ name, version, faulty, file }] }
 *   GET /management/applications/<name> one app, or 404
 *
 * A file `Name_1.2.0.car` is app `Name` at version `1.2.0`. Its content, in
 * this stand-in, is JSON `{ "artifacts": [...] }`; anything else deploys it as
 * `faulty: true`. A file that disappears undeploys its app at the next scan.
 * Plain ESM JavaScript, no dependencies. See docs/units.md.
 */
import { readdir, readFile } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { parseArgs } from 'node:util';

const { values: opts } = parseArgs({
  options: {
    dir: { type: 'string' },
    port: { type: 'string', default: '0' },
    host: { type: 'string', default: '127.0.0.1' },
    'interval-ms': { type: 'string', default: '15000' },
  },
  strict: true,
});
if (!opts.dir) {
  process.stderr.write('usage: node examples/package-host/car-folder.mjs --dir <folder> [--interval-ms N]\n');
  process.exit(2);
}
const DIR = path.resolve(opts.dir);
const INTERVAL = Number(opts['interval-ms']);
/** file → { name, version, faulty, file } */
let apps = new Map();
let scans = 0;

async function scan() {
  const next = new Map();
  const names = (await readdir(DIR).catch(() => [])).filter((n) => n.endsWith('.car')).sort();
  for (const file of names) {
    const base = file.slice(0, -'.car'.length);
    const cut = base.lastIndexOf('_');
    const name = cut > 0 ? base.slice(0, cut) : base;
    const version = cut > 0 ? base.slice(cut + 1) : '1.0.0';
    let faulty = true;
    try {
      faulty = !Array.isArray(JSON.parse(await readFile(path.join(DIR, file), 'utf8')).artifacts);
    } catch {
      // unreadable or not JSON: a faulty app, as MI lists a .car it cannot deploy
    }
    next.set(file, { name, version, faulty, file });
  }
  apps = next;
  scans++;
}

const send = (res, status, body) => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(`${JSON.stringify(body)}\n`);
};

const server = http.createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://x');
  const list = [...apps.values()];
  if (url.pathname === '/management/applications') return send(res, 200, { count: list.length, scans, list });
  const m = /^\/management\/applications\/([^/]+)$/.exec(url.pathname);
  if (m) {
    const app = list.find((a) => a.name === decodeURIComponent(m[1]));
    return app ? send(res, 200, app) : send(res, 404, { error: `no application ${m[1]}` });
  }
  send(res, 404, { error: 'not found' });
});

await scan();
const timer = setInterval(() => void scan(), INTERVAL);
server.listen(Number(opts.port), opts.host, () => {
  process.stdout.write(`[car-folder] listening on http://${opts.host}:${server.address().port}\n`);
});
for (const sig of ['SIGTERM', 'SIGINT'])
  process.on(sig, () => {
    clearInterval(timer);
    server.close(() => process.exit(0));
  });
