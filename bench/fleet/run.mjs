#!/usr/bin/env node
// Benchmark: a fleet of local targets with trivial hooks, `diffship deploy`
// against `xargs -P10 rsync` doing the same update. Run `npm run build` first.
//
//   node bench/fleet/run.mjs [--runs 5] [--targets 200] [--parallel 10]
//
// Every target holds release A (or B) of a 100-file repository; each timed run
// ships the other release (5 changed files) to all of them:
//
// - diffship: `diffship deploy` (the CLI, Node's start included), one wave,
//   `max-parallel` P, hooks `before`, `activate`, `after` (`run: "true"`) and a
//   `command` check (`run: "true"`);
// - rsync: `xargs -P P` running one `rsync -a --delete` per target from a
//   checkout switched between the releases the way `git checkout` does it;
// - hooks: the same four commands per target, run with `xargs -P P` as
//   `/bin/sh -c true` (what diffship spawns for them), timed separately.
//
// The anchor is rsync + hooks; target: diffship ≤ 1.5× the anchor. Runs
// alternate (which side goes first alternates too); median of the runs. After
// every timed run every target of that side is compared with the release, file
// by file, so a side that did less than the whole job fails the benchmark.
import os from 'node:os';
import path from 'node:path';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import {
  assertTree,
  checkout,
  cli,
  fastImportRepo,
  median,
  requireBuild,
  run,
  switchCheckout,
  timeOnce,
  treeDigest,
} from '../lib.mjs';

requireBuild('bench/fleet');
const args = process.argv.slice(2);
const arg = (name, fallback) => Number(args[args.indexOf(`--${name}`) + 1]) || fallback;
const RUNS = arg('runs', 5);
const TARGETS = arg('targets', 200);
const PARALLEL = arg('parallel', 10);
const FILES = 100;
const CHANGED = 5;
const HOOKS_PER_TARGET = 4; // before, activate, the command check, after

const base = path.join(os.tmpdir(), 'diffship-bench-fleet-v1');
const repo = path.join(base, 'repo');
const pathOf = (i) => `workflows/team-${i % 5}/flow-${String(i).padStart(3, '0')}.json`;
const contentOf = (i, rev) =>
  Buffer.from(
    `${JSON.stringify({ name: `flow ${i}`, rev, steps: Array(8).fill({ type: 'log' }) }, null, 1)}\n`,
  );
const a = new Map();
for (let i = 0; i < FILES; i++) a.set(pathOf(i), contentOf(i, 0));
const b = new Map();
for (let k = 0; k < CHANGED; k++) b.set(pathOf(k * 17), contentOf(k * 17, 1));
fastImportRepo(repo, [
  { tag: 'A', files: a },
  { tag: 'B', files: b },
]);

const work = path.join(base, `work-${TARGETS}`);
rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });
const co = path.join(work, 'checkout');
checkout(repo, 'A', co);
// The release as it lands in a target: diffship ships `workflows/`, rsync copies it from the checkout.
const release = { A: treeDigest(path.join(co, 'workflows')) };
switchCheckout(repo, co, 'A', 'B');
release.B = treeDigest(path.join(co, 'workflows'));
switchCheckout(repo, co, 'B', 'A');

const names = Array.from({ length: TARGETS }, (_, i) => `t${String(i).padStart(3, '0')}`);
const yaml = [
  'source: workflows',
  "waves: ['100%']",
  `max-parallel: ${PARALLEL}`,
  'defaults:',
  '  before: { run: "true" }',
  '  activate: { run: "true" }',
  '  verify:',
  '    - command: { run: "true" }',
  '  after: { run: "true" }',
  'targets:',
  ...names.map((n) => `  - { name: ${n}, path: ./ds/${n} }`),
  '',
].join('\n');
writeFileSync(path.join(work, 'diffship.yml'), yaml);
const namesFile = path.join(work, 'names');
writeFileSync(namesFile, `${names.join('\n')}\n`);
for (const n of names) mkdirSync(path.join(work, 'rs', n), { recursive: true });

const deploy = (to) => [
  process.execPath,
  [cli, 'deploy', '--to', to, '--repo', repo, '--no-progress'],
  { cwd: work },
];
// One rsync per target, P at a time, from the checkout's release folder.
const rsyncAll = () => [
  'sh',
  [
    '-c',
    `xargs -P${PARALLEL} -I{} rsync -a --delete "$0/workflows/" "$1/rs/{}/" < "$2"`,
    co,
    work,
    namesFile,
  ],
];
// The hooks' own process cost: every target's four `/bin/sh -c true`, P at a time.
const hooksAll = () => [
  'sh',
  ['-c', `seq ${TARGETS * HOOKS_PER_TARGET} | xargs -P${PARALLEL} -n1 /bin/sh -c true`],
];
const checkAll = (label, dir, digest) => {
  for (const n of names) assertTree(`${label}, ${n}`, path.join(dir, n), digest);
};

try {
  // Every target gets A first (a first deploy, untimed); then the runs go A → B → A …
  run(...deploy('A'));
  run(...rsyncAll());
  checkAll('first deploy, diffship', path.join(work, 'ds'), release.A);
  checkAll('first deploy, rsync', path.join(work, 'rs'), release.A);

  const times = { diffship: [], rsync: [], hooks: [] };
  let held = 'A';
  for (let r = 0; r < RUNS; r++) {
    const to = held === 'A' ? 'B' : 'A';
    const sides = r % 2 === 0 ? ['rsync', 'diffship'] : ['diffship', 'rsync'];
    for (const side of sides) {
      run('sync', []);
      if (side === 'diffship') {
        times.diffship.push(timeOnce(...deploy(to)));
        checkAll(`diffship → ${to}`, path.join(work, 'ds'), release[to]);
      } else {
        switchCheckout(repo, co, held, to);
        times.rsync.push(timeOnce(...rsyncAll()));
        checkAll(`rsync → ${to}`, path.join(work, 'rs'), release[to]);
        times.hooks.push(timeOnce(...hooksAll()));
      }
    }
    held = to;
  }
  if (held === 'B') switchCheckout(repo, co, 'B', 'A');

  const ds = median(times.diffship);
  const rs = median(times.rsync);
  const hk = median(times.hooks);
  const fmt = (x) => `${Math.round(x)} ms`.padStart(9);
  console.log(
    `fleet: ${TARGETS} local targets, max-parallel ${PARALLEL}, ${CHANGED} of ${FILES} files changed, 4 trivial hooks each; median of ${RUNS} (load ${os.loadavg()[0].toFixed(1)})`,
  );
  console.log(`  diffship deploy (CLI)                 ${fmt(ds)}`);
  console.log(`  xargs -P${PARALLEL} rsync -a --delete        ${fmt(rs)}`);
  console.log(`  the hooks alone, xargs -P${PARALLEL} sh -c    ${fmt(hk)}`);
  console.log(`  anchor: rsync + hooks                 ${fmt(rs + hk)}`);
  console.log(`  diffship / anchor                      ${(ds / (rs + hk)).toFixed(2)}×   target ≤ 1.5×`);
  process.exitCode = ds / (rs + hk) <= 1.5 ? 0 : 1;
} finally {
  rmSync(work, { recursive: true, force: true });
}
