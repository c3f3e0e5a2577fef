#!/usr/bin/env node
// Benchmark: diffship deploy to a local target against `rsync -a` doing the same
// update, on a 50,000-file release. Run `npm run build` first.
//
//   node bench/deploy/run.mjs [--runs 5]
//
// 1. update: 20 changed files shipped into a target holding the 50,000-file
//    release (additive mode). rsync must walk both trees; diffship knows the
//    change set from git. Target: ≤ 0.5× rsync; goal 0.1×.
// 2. first deploy: all 50,000 files into an empty folder. Target: ≤ 3× rsync.
//
// rsync copies from a checkout of each release (what a CI job has on disk);
// diffship reads the blobs from the repository. Runs alternate between the two
// tools; wall time is the median. Each side's target is reset between runs.
import os from 'node:os';
import path from 'node:path';
import { rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { cli, exportTree, fastImportRepo, median, ratio, requireBuild, run, timeOnce } from '../lib.mjs';

requireBuild('bench/deploy');
const args = process.argv.slice(2);
const runs = Number(args[args.indexOf('--runs') + 1]) || 5;
const FILES = 50_000;
const CHANGED = 20;

const base = path.join(os.tmpdir(), 'diffship-bench-deploy-v1');
const repo = path.join(base, 'repo');
const pathOf = (i) =>
  `workflows/team-${String(i % 250).padStart(3, '0')}/flow-${String(i).padStart(5, '0')}.xml`;
const contentOf = (i, rev = 0) => {
  const lines = [`<workflow id="${i}" rev="${rev}">`];
  for (let l = 0; l < 12; l++) lines.push(`  <step n="${l}" action="act-${(i * 31 + l * 7) % 9973}"/>`);
  lines.push('</workflow>', '');
  return Buffer.from(lines.join('\n'));
};
const a = new Map();
for (let i = 0; i < FILES; i++) a.set(pathOf(i), contentOf(i));
const b = new Map();
for (let k = 0; k < CHANGED; k++) b.set(pathOf(k * 2_477), contentOf(k * 2_477, 1));
fastImportRepo(repo, [
  { tag: 'A', files: a },
  { tag: 'B', files: b },
]);

const srcA = path.join(base, 'src-A');
const srcB = path.join(base, 'src-B');
exportTree(repo, 'A', srcA);
exportTree(repo, 'B', srcB);

const work = path.join(base, 'work');
rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });
writeFileSync(path.join(work, 'diffship.yml'), 'waves: [1]\ntargets:\n  - name: t\n    path: ./target\n');
const ds = (...argv) => [process.execPath, [cli, ...argv, '--repo', repo, '--no-progress'], { cwd: work }];
const rsyncTarget = path.join(work, 'rsync-target');
const dsTarget = path.join(work, 'target');

function resetEmpty() {
  rmSync(rsyncTarget, { recursive: true, force: true });
  rmSync(dsTarget, { recursive: true, force: true });
}

// First deploy of the whole release.
const first = { diffship: [], rsync: [] };
for (let r = 0; r < runs; r++) {
  resetEmpty();
  run('sync', []);
  first.rsync.push(timeOnce('rsync', ['-a', `${srcA}/`, `${rsyncTarget}/`]));
  run('sync', []);
  first.diffship.push(timeOnce(...ds('deploy', '--to', 'A')));
}

// Update: 20 changed files into the full target. Both targets hold A before each run.
const update = { diffship: [], rsync: [] };
for (let r = 0; r < runs; r++) {
  run('rsync', ['-a', '--delete', `${srcA}/`, `${rsyncTarget}/`]);
  run('sync', []);
  update.rsync.push(timeOnce('rsync', ['-a', `${srcB}/`, `${rsyncTarget}/`]));
  run(...ds('deploy', '--to', 'A'));
  run('sync', []);
  update.diffship.push(timeOnce(...ds('deploy', '--to', 'B')));
}

const fmt = (xs) => `${median(xs).toFixed(0)} ms`;
const lines = [
  `deploy benchmark — ${FILES} files, ${runs} runs each, median wall time (${os.cpus().length} cores, node ${process.version})`,
  `update (${CHANGED} changed files, additive): diffship ${fmt(update.diffship)}, rsync -a ${fmt(update.rsync)}, ratio ${ratio(median(update.diffship), median(update.rsync))}× (target ≤ 0.5×, goal 0.1×)`,
  `first deploy (${FILES} files):           diffship ${fmt(first.diffship)}, rsync -a ${fmt(first.rsync)}, ratio ${ratio(median(first.diffship), median(first.rsync))}× (target ≤ 3×)`,
];
console.log(lines.join('\n'));
