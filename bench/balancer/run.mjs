#!/usr/bin/env node
// Benchmark: failed requests during a rollout behind a real load balancer.
//
//   node bench/balancer/run.mjs [--runs 3]
//
// Runs the zero-downtime proof (test/balancer/e2e-nginx.test.ts and
// e2e-haproxy.test.ts: real nginx/haproxy on loopback in front of three
// example hosts that answer 503 for 1.5 s while they restart; a rolling
// `diffship deploy`, waves of one; 4 clients sending GET /health through the
// balancer, a new connection per request, 5 ms apart, from 0.3 s before the
// rollout to 0.3 s after it) `--runs` times, and prints per setup: requests
// sent, failed, and the p50/p99/max latency of those requests, summed or
// worst over the runs.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { root } from '../lib.mjs';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '3' } } });
const runs = Number(values.runs);
const dir = mkdtempSync(path.join(os.tmpdir(), 'diffship-bench-balancer-'));
const out = path.join(dir, 'figures.jsonl');

for (let i = 0; i < runs; i++) {
  const r = spawnSync(
    'npx',
    ['vitest', 'run', 'test/balancer/e2e-nginx.test.ts', 'test/balancer/e2e-haproxy.test.ts'],
    { cwd: root, env: { ...process.env, DIFFSHIP_BENCH_OUT: out }, encoding: 'utf8', timeout: 600_000 },
  );
  if (r.status !== 0) {
    process.stderr.write(r.stdout + r.stderr);
    process.exit(1);
  }
}
const rows = readFileSync(out, 'utf8')
  .trim()
  .split('\n')
  .map((l) => JSON.parse(l));
rmSync(dir, { recursive: true, force: true });
const byLabel = new Map();
for (const row of rows) byLabel.set(row.label, [...(byLabel.get(row.label) ?? []), row]);
const sum = (xs, k) => xs.reduce((a, x) => a + x[k], 0);
const max = (xs, k) => Math.max(...xs.map((x) => x[k]));
console.log(
  `${runs} run(s), ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, ${os.cpus().length} cores, load ${os.loadavg()[0].toFixed(1)}`,
);
console.log('| setup | rollouts | requests sent | failed | p99 (worst run) | max | rollout time (median) |');
console.log('| --- | --- | --- | --- | --- | --- | --- |');
for (const [label, xs] of byLabel) {
  const ms = xs.map((x) => x.rolloutMs).sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const failed = sum(xs, 'failed');
  const pct = ((failed / sum(xs, 'sent')) * 100).toFixed(1);
  console.log(
    `| ${label} | ${xs.length} | ${sum(xs, 'sent')} | ${failed}${failed ? ` (${pct}%)` : ''} | ${max(xs, 'p99Ms')} ms | ${max(xs, 'maxMs')} ms | ${(ms / 1000).toFixed(1)} s |`,
  );
}
