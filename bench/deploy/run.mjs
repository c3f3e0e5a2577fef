#!/usr/bin/env node
// Benchmark: diffship deploy to a local target against `rsync -a` doing the same
// update, on a 50,000-file release. Run `npm run build` first.
//
//   node bench/deploy/run.mjs [--runs 5] [--files 50000|500000|2000] [--changed 20] [--updates-only]
//     [--only authoritative] [--no-echo]
//
// 1. update: 20 changed files (--changed) shipped into a target holding the 50,000-file
//    release, additive (vs `rsync -a`) and authoritative (vs `rsync -a --delete`).
//    rsync must walk both trees; diffship knows the change set from git.
// 2. first deploy: all 50,000 files into an empty folder, vs `rsync -a`.
//
// rsync copies from a checkout of each release (what a CI job has on disk): for
// the update, the checkout is switched from A to B as `git checkout` does, so
// only the changed files get a new mtime and rsync's quick check finds them.
// diffship reads the blobs from the repository. An update's rsync is followed by a timed
// `sync`: rsync + sync is the durable anchor (diffship's files are durable before it commits,
// rsync's are not). Runs alternate between the two
// tools (which one goes first alternates too); wall time is the median. After
// every timed run the target is compared with the release, file by file, so a
// side that did less than the whole job fails the benchmark instead of winning it.
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import {
  assertTree,
  checkout,
  cli,
  exportTree,
  fastImportRepo,
  median,
  ratio,
  requireBuild,
  run,
  switchCheckout,
  treeDigest,
} from '../lib.mjs';

requireBuild('bench/deploy');
const args = process.argv.slice(2);
const runs = Number(args[args.indexOf('--runs') + 1]) || 5;
// --updates-only: skip the timed first deploys (the update runs still deploy A once, untimed).
const updatesOnly = args.includes('--updates-only');
// --only additive|authoritative: just that update case (a 500,000-file run is heavy).
const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : null;
// --no-echo: remove the walk echo the untimed deploy left (manifests/*.walk) before each timed
// one, so an authoritative update merges its walk with the manifest as after a change by hand.
const noEcho = args.includes('--no-echo');
const FILES = Number(args[args.indexOf('--files') + 1]) || 50_000;
if (FILES !== 50_000 && FILES !== 500_000 && FILES !== 2000) {
  console.error('bench/deploy: --files takes 50000, 500000 or 2000');
  process.exit(2);
}
// --changed: files the update changes (a small release's usual update: --files 2000 --changed 100).
const CHANGED = args.includes('--changed') ? Number(args[args.indexOf('--changed') + 1]) : 20;
if (!(CHANGED >= 1 && CHANGED <= FILES / 10)) {
  console.error(`bench/deploy: --changed takes 1 to ${FILES / 10}`);
  process.exit(2);
}
// 500,000 files: the same layout ten times over (2,500 folders of 200 files).
const TEAMS = FILES / 200;

// The 50k repository keeps its historical name, so a cached one is reused.
const sized = `${FILES === 50_000 ? '' : `-${FILES}`}${CHANGED === 20 ? '' : `-c${CHANGED}`}`;
const base = path.join(os.tmpdir(), `diffship-bench-deploy-v1${sized}`);
const repo = path.join(base, 'repo');
const pad = (n, w) => String(n).padStart(w, '0');
const pathOf = (i) =>
  FILES <= 50_000
    ? `workflows/team-${pad(i % 250, 3)}/flow-${pad(i, 5)}.xml`
    : `workflows/team-${pad(i % TEAMS, 4)}/flow-${pad(i, 6)}.xml`;
const contentOf = (i, rev = 0) => {
  const lines = [`<workflow id="${i}" rev="${rev}">`];
  for (let l = 0; l < 12; l++) lines.push(`  <step n="${l}" action="act-${(i * 31 + l * 7) % 9973}"/>`);
  lines.push('</workflow>', '');
  return Buffer.from(lines.join('\n'));
};
// Generated as the import stream is written: 500,000 files are never all in memory.
const a = {
  *[Symbol.iterator]() {
    for (let i = 0; i < FILES; i++) yield [pathOf(i), contentOf(i)];
  },
};
// Spread over the folders (the historical 50k and 500k layouts: FILES / CHANGED - 23).
const stride = Math.floor(FILES / CHANGED) - Math.min(23, Math.floor(FILES / CHANGED / 2));
const b = new Map();
for (let k = 0; k < CHANGED; k++) b.set(pathOf(k * stride), contentOf(k * stride, 1));
fastImportRepo(repo, [
  { tag: 'A', files: a },
  { tag: 'B', files: b },
]);

const srcA = path.join(base, 'src-A');
// Exported once (and left alone while another run of this benchmark may read it).
if (!existsSync(`${srcA}.ready`)) {
  exportTree(repo, 'A', srcA);
  writeFileSync(`${srcA}.ready`, '');
}
// The checkout rsync copies from and the targets are this run's own: two benchmarks at once
// (a shared machine) would otherwise switch each other's checkout under rsync.
const work = path.join(base, `work-${process.pid}`);
rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });
const co = path.join(work, 'checkout');
checkout(repo, 'A', co);
const releaseA = treeDigest(srcA);
const releaseB = (() => {
  switchCheckout(repo, co, 'A', 'B');
  const d = treeDigest(co);
  switchCheckout(repo, co, 'B', 'A');
  return d;
})();
process.on('exit', () => rmSync(work, { recursive: true, force: true }));

writeFileSync(path.join(work, 'diffship.yml'), 'waves: [1]\ntargets:\n  - name: t\n    path: ./target\n');
const ds = (...argv) => [process.execPath, [cli, ...argv, '--repo', repo, '--no-progress'], { cwd: work }];
const rsyncTarget = path.join(work, 'rsync-target');
const dsTarget = path.join(work, 'target');
// Wall time and peak RSS (GNU time's maximum resident set size, the largest process of the run).
const rssFile = path.join(work, 'time.out');
function timeOnce(cmd, argv, options = {}) {
  const start = process.hrtime.bigint();
  const r = spawnSync('/usr/bin/time', ['-f', '%M', '-o', rssFile, cmd, ...argv], {
    stdio: ['ignore', 'ignore', 'pipe'],
    ...options,
  });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (r.status !== 0) throw new Error(`${cmd} ${argv.join(' ')} failed (${r.status}): ${r.stderr}`);
  rss.push(Number(readFileSync(rssFile, 'utf8').trim().split('\n').pop()) / 1024);
  return ms;
}
let rss = [];
const order = (r) => (r % 2 === 0 ? ['rsync', 'diffship'] : ['diffship', 'rsync']);

// First deploy of the whole release into empty folders.
const first = { diffship: [], rsync: [], rss: { diffship: [], rsync: [] } };
for (let r = 0; r < (updatesOnly ? 0 : runs); r++) {
  for (const tool of order(r)) {
    const target = tool === 'rsync' ? rsyncTarget : dsTarget;
    rmSync(target, { recursive: true, force: true });
    run('sync', []);
    rss = first.rss[tool];
    if (tool === 'rsync') first.rsync.push(timeOnce('rsync', ['-a', `${srcA}/`, `${rsyncTarget}/`]));
    else first.diffship.push(timeOnce(...ds('deploy', '--to', 'A')));
    assertTree(`first deploy, ${tool}`, target, releaseA);
  }
}

// Update: CHANGED files into the full target. Both targets hold A before each run;
// the checkout rsync copies from holds A with the same mtimes as rsync's target.
function updateRuns(mode, rsyncArgs) {
  const times = { diffship: [], rsync: [], rsyncSync: [], rss: { diffship: [], rsync: [] } };
  if (only !== null && only !== mode) return null;
  for (let r = 0; r < runs; r++) {
    for (const tool of order(r)) {
      if (tool === 'rsync') {
        run('rsync', ['-a', '--delete', `${co}/`, `${rsyncTarget}/`]);
        switchCheckout(repo, co, 'A', 'B');
        run('sync', []);
        rss = times.rss.rsync;
        times.rsync.push(timeOnce('rsync', [...rsyncArgs, `${co}/`, `${rsyncTarget}/`]));
        // The durable anchor: diffship makes its files durable before it commits, rsync does not.
        const synced = process.hrtime.bigint();
        run('sync', []);
        times.rsyncSync.push(times.rsync.at(-1) + Number(process.hrtime.bigint() - synced) / 1e6);
        switchCheckout(repo, co, 'B', 'A');
        assertTree(`update (${mode}), rsync`, rsyncTarget, releaseB);
      } else {
        run(...ds('deploy', '--to', 'A', '--mode', mode));
        const manifests = path.join(dsTarget, '.diffship', 'manifests');
        if (noEcho && existsSync(manifests))
          for (const name of readdirSync(manifests))
            if (name.endsWith('.walk')) rmSync(path.join(manifests, name));
        run('sync', []);
        rss = times.rss.diffship;
        times.diffship.push(timeOnce(...ds('deploy', '--to', 'B', '--mode', mode)));
        assertTree(`update (${mode}), diffship`, dsTarget, releaseB);
      }
    }
  }
  return times;
}
const update = updateRuns('additive', ['-a']);
const authoritative = updateRuns('authoritative', ['-a', '--delete']);

const fmt = (xs) => `${median(xs).toFixed(0)} ms`;
const peak = (xs) => `${Math.max(...xs).toFixed(0)} MiB`;
const row = (label, t, anchor) =>
  t === null
    ? null
    : `${label}: diffship ${fmt(t.diffship)} (peak RSS ${peak(t.rss.diffship)}), ${anchor} ${fmt(t.rsync)} (${peak(t.rss.rsync)}), ratio ${ratio(median(t.diffship), median(t.rsync))}×${t.rsyncSync ? `; ${anchor} + sync ${fmt(t.rsyncSync)}, ratio ${ratio(median(t.diffship), median(t.rsyncSync))}×` : ''}`;
console.log(
  [
    `deploy benchmark — ${FILES} files, ${runs} runs each, median wall time (${os.cpus().length} cores, load ${os.loadavg()[0].toFixed(2)}, node ${process.version}); every target compared with its release after each run${noEcho ? '; walk echoes removed before each timed deploy' : ''}`,
    row(`update, ${CHANGED} changed files, additive     `, update, 'rsync -a'),
    row(`update, ${CHANGED} changed files, authoritative`, authoritative, 'rsync -a --delete'),
    ...(updatesOnly ? [] : [row(`first deploy, ${FILES} files              `, first, 'rsync -a')]),
  ]
    .filter((line) => line !== null)
    .join('\n'),
);
