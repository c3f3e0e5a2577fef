#!/usr/bin/env node
/**
 * Call the example package server from a hook:
 *   node examples/package-host/ctl.mjs --url http://127.0.0.1:5555 <reload|activate|disable> <Package>
 *   node examples/package-host/ctl.mjs --url … status <Package>
 * Exits 0 when the call succeeded (for reload/activate: the package loaded `yes`),
 * 1 otherwise, printing the server's answer either way. No dependencies.
 */
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({ options: { url: { type: 'string' } }, allowPositionals: true });
const [action, name] = positionals;
if (!values.url || !action || !name) {
  process.stderr.write('usage: ctl.mjs --url <server> <reload|activate|disable|status> <Package>\n');
  process.exit(2);
}
const url = `${values.url.replace(/\/$/, '')}/admin/package/${encodeURIComponent(name)}`;
const res =
  action === 'status'
    ? await fetch(url)
    : await fetch(`${url}?action=${encodeURIComponent(action)}`, { method: 'POST' });
const body = await res.text();
process.stdout.write(body);
const loaded = (() => {
  try {
    return JSON.parse(body).loaded;
  } catch {
    return undefined;
  }
})();
const ok = res.ok && (action === 'disable' || loaded === 'yes');
if (!ok) process.stderr.write(`${action} ${name}: HTTP ${res.status}, loaded ${loaded}\n`);
process.exit(ok ? 0 : 1);
