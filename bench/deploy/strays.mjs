#!/usr/bin/env node
// Benchmark: an authoritative plan on a target holding many stray files (issue 13:
// "linear, under 5 s" at 300,000). Run `npm run build` first.
//
//   node bench/deploy/strays.mjs [--strays 300000] [--runs 3] [--deploy]
//
// A 1,000-file release is deployed, then the target gets `--strays` files the
// release does not have (and a third of that, for the linearity check), and
// `diffship plan --mode authoritative` is timed. Its JSON report must list every
// stray as a delete, so a plan that missed them fails instead of winning. Peak RSS
// comes from GNU time when /usr/bin/time exists.
//
// --deploy: then one `diffship deploy --mode authoritative` into a new target holding
// `--strays` strays, timed, with the Node process's own peak RSS (its VmHWM, from a
// preload); afterwards the target must hold exactly the release (every stray gone, each
// backed up), and `diffship rollback` must bring every stray back (untimed, counted).
import os from 'node:os';
import path from 'node:path';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { assertTree, cli, fastImportRepo, median, peakRssPreload, requireBuild, run } from '../lib.mjs';

requireBuild('bench/deploy');
const args = process.argv.slice(2);
const opt = (name, dflt) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : dflt);
const STRAYS = opt('--strays', 300_000);
const runs = opt('--runs', 3);
const withDeploy = args.includes('--deploy');
const FILES = 1_000;

const base = path.join(os.tmpdir(), 'diffship-bench-strays-v1');
const repo = path.join(base, 'repo');
const files = new Map();
for (let i = 0; i < FILES; i++) files.set(`app/f${i}.txt`, Buffer.from(`file ${i}\n`));
fastImportRepo(repo, [{ tag: 'A', files }]);

const work = path.join(base, 'work');
const target = path.join(work, 'target');
const TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : null;

/** A fresh target holding the release (deployed) plus `n` strays, 1,000 per folder. */
function prepare(n) {
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  writeFileSync(path.join(work, 'diffship.yml'), 'waves: [1]\ntargets:\n  - name: t\n    path: ./target\n');
  run(process.execPath, [cli, 'deploy', '--to', 'A', '--repo', repo, '--no-progress'], { cwd: work });
  for (let d = 0; d < n / 1_000; d++) {
    const dir = path.join(target, 'junk', `d${d}`);
    mkdirSync(dir, { recursive: true });
    for (let f = 0; f < 1_000; f++) writeFileSync(path.join(dir, `s${f}`), '');
  }
  run('sync', []);
}

/** One timed plan: wall ms, peak RSS (MiB, or null), and the deletes it planned. */
function planOnce() {
  const argv = [
    cli,
    'plan',
    '--to',
    'A',
    '--repo',
    repo,
    '--mode',
    'authoritative',
    '--no-progress',
    '--json',
  ];
  const cmd = TIME ? [TIME, ['-f', '%M', process.execPath, ...argv]] : [process.execPath, argv];
  const start = process.hrtime.bigint();
  const r = spawnSync(cmd[0], cmd[1], { cwd: work, encoding: 'utf8', maxBuffer: 1 << 30 });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (r.status !== 0) throw new Error(`plan failed (${r.status}): ${r.stderr}`);
  const rss = TIME ? Number(r.stderr.trim().split('\n').pop()) / 1024 : null;
  const report = JSON.parse(r.stdout);
  const deletes = report.targets[0].changes.deleted.length;
  return { ms, rss, deletes };
}

const rows = [];
for (const n of [Math.round(STRAYS / 3), STRAYS]) {
  prepare(n);
  const times = [];
  let rss = 0;
  for (let r = 0; r < runs; r++) {
    const one = planOnce();
    if (one.deletes !== n) throw new Error(`plan listed ${one.deletes} deletes, expected ${n} strays`);
    times.push(one.ms);
    rss = Math.max(rss, one.rss ?? 0);
  }
  rows.push({ n, ms: median(times), rss });
}
const [small, big] = rows;
console.log(
  [
    `authoritative plan with stray files — ${FILES}-file release, ${runs} runs each, median wall time (${os.cpus().length} cores, load ${os.loadavg()[0].toFixed(2)}, node ${process.version})`,
    ...rows.map(
      (r) => `${r.n} strays: ${r.ms.toFixed(0)} ms${TIME ? `, peak RSS ${r.rss.toFixed(0)} MiB` : ''}`,
    ),
    `growth: ${(big.ms / small.ms).toFixed(2)}× the time for ${(big.n / small.n).toFixed(0)}× the strays (linear: about ${(big.n / small.n).toFixed(0)}×)`,
  ].join('\n'),
);

if (withDeploy) {
  prepare(STRAYS);
  const rssFile = path.join(work, 'node-rss');
  const preload = peakRssPreload(work);
  const argv = ['--require', preload, cli, 'deploy', '--to', 'A', '--repo', repo, '--mode', 'authoritative'];
  const start = process.hrtime.bigint();
  run(process.execPath, [...argv, '--no-progress'], {
    cwd: work,
    env: { ...process.env, BENCH_RSS_FILE: rssFile },
  });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  const rss = Number(readFileSync(rssFile, 'utf8')) / 1024;
  const release = new Map();
  for (const [p, body] of files) release.set(p, `file 644 ${createHash('sha1').update(body).digest('hex')}`);
  assertTree('authoritative deploy with strays', target, release);
  run(process.execPath, [cli, 'rollback', '--targets', 't', '--no-progress'], { cwd: work });
  const back = readdirSync(path.join(target, 'junk'), { recursive: true }).filter((n) => /\/s\d+$/.test(n));
  if (back.length !== STRAYS)
    throw new Error(`rollback brought back ${back.length} strays, expected ${STRAYS}`);
  console.log(
    `deploy deleting ${STRAYS} strays: ${(ms / 1000).toFixed(1)} s, node peak RSS ${rss.toFixed(0)} MiB; rollback brought back all ${back.length}`,
  );
}
