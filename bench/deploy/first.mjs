#!/usr/bin/env node
// Benchmark: the first deploy of a big release into an empty local folder, diffship
// against `rsync -a` (issue 13: ≤ 1.3× at 500,000 files, diffship's peak RSS < 150 MiB).
// Run `npm run build` first.
//
//   npx node bench/deploy/first.mjs [--files 50000] [--runs 3] [--no-sync-anchor] [--base <built checkout>]
//     [--settle <seconds>] [--work <folder>]
//
// --work /dev/shm: the targets in that folder (a tmpfs: no disk in the timings, so the peak
// RSS figures of a few pairs of runs compare two builds without the disk's noise); the
// repository and the export stay in the OS temp folder. No settling there by default.
//
// The release has `--files` files of ~600 bytes, 200 per folder, built once with
// `git fast-import` and cached in the OS temp folder (one repository per size).
// rsync copies from a `git archive` export of it (what a CI job has on disk);
// diffship reads the blobs from the repository. Three sides, alternating (the
// order rotates every run): `rsync -a`, `rsync -a` then `sync` (the durable
// anchor: diffship makes the files durable before it commits, rsync does not),
// and `diffship deploy`. Every side starts from an empty folder after a `sync`.
// After every timed run the target is compared file by file with the release.
//
// Peak RSS: GNU time's maximum resident set size of the run's largest process
// (for diffship that may be a git child), and for diffship also the Node
// process's own (its VmHWM, reported from a preload: not process.resourceUsage().maxRSS,
// which Linux carries over exec from the image of the process that forked it).
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import {
  assertTree,
  cli,
  exportTree,
  fastImportRepo,
  median,
  peakRssPreload,
  ratio,
  requireBuild,
  run,
  treeDigest,
} from '../lib.mjs';

requireBuild('bench/deploy');
const args = process.argv.slice(2);
const opt = (name, dflt) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : dflt);
const FILES = opt('--files', 50_000);
const runs = opt('--runs', 3);
const syncAnchor = !args.includes('--no-sync-anchor');
// Seconds to wait after a side's old target is deleted, before its timed run. ext4 does not hand
// out an inode freed in the last ~30 s (35 with dirty buffers) while it scans for a free one, so
// creating 500,000 files right after deleting 500,000 cost diffship 49 s against 26–34 s after a
// wait (rsync pays it too): the benchmark's own cleanup, not a first deploy's cost. Default: 35 s
// from 100,000 files up, none below (the effect was not seen at 50,000).
const workRoot = args.includes('--work') ? path.resolve(args[args.indexOf('--work') + 1]) : null;
const settle = opt('--settle', FILES >= 100_000 && workRoot === null ? 35 : 0);
// --base <dir>: also time the CLI of another built checkout (before/after a change), as side `base`.
const baseBuild = args.includes('--base') ? path.resolve(args[args.indexOf('--base') + 1]) : null;
const PER_FOLDER = 200;
const TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : null;

const base = path.join(os.tmpdir(), `diffship-bench-first-v1-${FILES}`);
const repo = path.join(base, 'repo');
const DIGITS = String(FILES - 1).length;
const pathOf = (i) =>
  `workflows/team-${String(Math.floor(i / PER_FOLDER)).padStart(4, '0')}/flow-${String(i).padStart(DIGITS, '0')}.xml`;
function contentOf(i) {
  const lines = [`<workflow id="${i}">`];
  for (let l = 0; l < 12; l++) lines.push(`  <step n="${l}" action="act-${(i * 31 + l * 7) % 9973}"/>`);
  lines.push('</workflow>', '');
  return Buffer.from(lines.join('\n'));
}

/** The repository (lib.mjs streams the import through a file: ~350 MB at 500k files). */
function* filesOfA() {
  for (let i = 0; i < FILES; i++) yield [pathOf(i), contentOf(i)];
}
fastImportRepo(repo, [{ tag: 'A', files: filesOfA() }]);
const src = path.join(base, 'src-A');
if (!existsSync(path.join(src, '.bench-ready'))) {
  exportTree(repo, 'A', src);
  writeFileSync(path.join(src, '.bench-ready'), '');
}
const release = treeDigest(src, ['.bench-ready']);
if (release.size !== FILES) throw new Error(`the export holds ${release.size} files, expected ${FILES}`);

const work =
  workRoot === null ? path.join(base, 'work') : path.join(workRoot, `diffship-bench-first-${FILES}`);
rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });
writeFileSync(path.join(work, 'diffship.yml'), 'waves: [1]\ntargets:\n  - name: t\n    path: ./target\n');
// Reports the Node process's own peak RSS (KiB) into the file named by the environment.
const rssFile = path.join(work, 'node-rss');
const preload = peakRssPreload(work);

/**
 * One timed command: wall ms, CPU ms (user + system, children included: steadier than wall
 * time on a shared machine) and the peak RSS of its largest process (MiB); null without GNU time.
 */
function timed(cmd, argv, options = {}) {
  const [c, a] = TIME ? [TIME, ['-f', '%M %U %S', cmd, ...argv]] : [cmd, argv];
  const start = process.hrtime.bigint();
  const r = spawnSync(c, a, { stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 30, ...options });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (r.status !== 0) throw new Error(`${cmd} ${argv.join(' ')} failed (${r.status}): ${r.stderr}`);
  const [kib, user, sys] = TIME ? r.stderr.toString().trim().split('\n').pop().split(' ').map(Number) : [];
  return { ms, rss: TIME ? kib / 1024 : null, cpu: TIME ? (user + sys) * 1000 : null };
}

const target = (side) => path.join(work, side === 'diffship' || side === 'base' ? 'target' : 'rsync-target');
const sides = {
  rsync: () => timed('rsync', ['-a', '--exclude=/.bench-ready', `${src}/`, `${target('rsync')}/`]),
  'rsync+sync': () => {
    const a = timed('rsync', ['-a', '--exclude=/.bench-ready', `${src}/`, `${target('rsync+sync')}/`]);
    const b = timed('sync', []);
    return { ms: a.ms + b.ms, rss: a.rss, cpu: TIME ? a.cpu + b.cpu : null };
  },
  diffship: () => deploy(cli),
  ...(baseBuild ? { base: () => deploy(path.join(baseBuild, 'bin/diffship.js')) } : {}),
};

/** `diffship deploy` of the release with the CLI at `bin` (into ./target: one side at a time). */
function deploy(bin) {
  rmSync(rssFile, { force: true });
  const r = timed(
    process.execPath,
    ['--require', preload, bin, 'deploy', '--to', 'A', '--repo', repo, '--no-progress'],
    {
      cwd: work,
      env: { ...process.env, BENCH_RSS_FILE: rssFile },
    },
  );
  return { ...r, nodeRss: Number(readFileSync(rssFile, 'utf8')) / 1024 };
}
const names = Object.keys(sides).filter((s) => syncAnchor || s !== 'rsync+sync');
const results = Object.fromEntries(names.map((s) => [s, []]));
for (let r = 0; r < runs; r++) {
  // Rotate the order so that no side always follows the same one.
  const order = names.map((_, k) => names[(k + r) % names.length]);
  for (const side of order) {
    rmSync(target(side), { recursive: true, force: true });
    run('sync', []);
    if (settle > 0) run('sleep', [String(settle)]);
    const one = sides[side]();
    results[side].push(one);
    assertTree(`first deploy, ${side}`, target(side), release);
    const extra = one.nodeRss ? `, node ${one.nodeRss.toFixed(0)} MiB` : '';
    console.error(
      `run ${r + 1} ${side}: ${(one.ms / 1000).toFixed(2)} s, CPU ${((one.cpu ?? 0) / 1000).toFixed(2)} s, peak RSS ${one.rss?.toFixed(0)} MiB${extra}`,
    );
  }
  rmSync(target('diffship'), { recursive: true, force: true });
  rmSync(target('rsync'), { recursive: true, force: true });
}
if (workRoot !== null) rmSync(work, { recursive: true, force: true });

const med = (side, key) => median(results[side].map((x) => x[key]));
const max = (side, key) => Math.max(...results[side].map((x) => x[key] ?? 0));
const nodeRss = (s) => `node ${max(s, 'nodeRss').toFixed(0)} MiB, median ${med(s, 'nodeRss').toFixed(0)}`;
const ds = med('diffship', 'ms');
console.log(
  [
    `first deploy — ${FILES} files, ${runs} runs each, median wall time (${os.cpus().length} cores, load ${os.loadavg()[0].toFixed(2)}, node ${process.version}); targets in ${path.dirname(work)}; every target compared with the release after each run; ${settle} s of settling after each deletion`,
    ...names.map(
      (s) =>
        `${s.padEnd(10)} ${(med(s, 'ms') / 1000).toFixed(2)} s, CPU ${(med(s, 'cpu') / 1000).toFixed(2)} s, peak RSS ${max(s, 'rss').toFixed(0)} MiB${s === 'diffship' || s === 'base' ? ` (${nodeRss(s)})` : ''}`,
    ),
    `CPU ratio diffship / rsync -a: ${ratio(med('diffship', 'cpu'), med('rsync', 'cpu'))}×`,
    `ratio diffship / rsync -a: ${ratio(ds, med('rsync', 'ms'))}×${syncAnchor ? `; / rsync -a + sync: ${ratio(ds, med('rsync+sync', 'ms'))}×` : ''}`,
    ...(baseBuild
      ? [
          `diffship / base: ${ratio(ds, med('base', 'ms'))}× wall, ${ratio(med('diffship', 'cpu'), med('base', 'cpu'))}× CPU`,
        ]
      : []),
  ].join('\n'),
);
