#!/usr/bin/env node
// Peak memory of diffship's node process over SSH: a first deploy of bench/ssh/run.mjs's
// release A into an empty folder, then its update to B, against the same OpenSSH sshd on
// 127.0.0.1. The target is on tmpfs (/dev/shm) when there is one, so that the disk's noise
// (ext4 after deleting big trees) does not move the figures. Peak RSS is the process's own
// VmHWM, read by a preload at exit (not resourceUsage().maxRSS, which Linux carries over exec
// from the process that forked it). The trees are compared with the release after each run.
// Run `npm run build`, and `bench/ssh/run.mjs --files N` once (it makes the repository).
//
//   npx node bench/ssh/memory.mjs --files 100000 [--runs 3] [--base <another built checkout>]
//
// --base alternates that build's CLI with this one's (base, this, this, base, ...): their
// times too, side by side on one sshd (--files 2000: the 100-of-2,000 update of run.mjs).
// --rtt <ms> puts latency-proxy.mjs between them and sshd (a far host: a change in the
// number of waits for the host shows as a multiple of it). Target: < 150 MiB (issue 13).
import os from 'node:os';
import path from 'node:path';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import {
  assertTree,
  cli,
  median,
  peakRssPreload,
  requireBuild,
  run,
  switchCheckout,
  timeOnce,
  treeDigest,
} from '../lib.mjs';
import { startSshd, sshTargetLines, viaLatency } from './sshd.mjs';

requireBuild('bench/ssh/memory');
const args = process.argv.slice(2);
const option = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const files = Number(option('--files', 20_000));
const runs = Number(option('--runs', 3));
const base = option('--base', null);
const rttMs = Number(option('--rtt', 0));
const bench = path.join(
  os.tmpdir(),
  files === 2_000 ? 'diffship-bench-ssh-v1' : `diffship-bench-ssh-v1-${files}`,
);
const repo = path.join(bench, 'repo');
const co = path.join(bench, 'checkout');
const wt = path.join(bench, 'worktree');
if (!existsSync(wt)) throw new Error(`${wt} is missing: run bench/ssh/run.mjs --files ${files} once first`);

const scratch = existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir();
const work = path.join(scratch, `diffship-bench-ssh-memory-${process.pid}`);
mkdirSync(work, { recursive: true });
const hwmFile = path.join(work, 'hwm');
const preload = peakRssPreload(work);

// The releases as the checkout holds them (run.mjs leaves both checkouts at A).
const releaseA = treeDigest(co);
switchCheckout(repo, co, 'A', 'B');
const releaseB = treeDigest(co);
switchCheckout(repo, co, 'B', 'A');

const builds = base ? { base: path.join(path.resolve(base), 'bin/diffship.js'), this: cli } : { this: cli };
const order = [];
for (let r = 0; r < runs; r++)
  for (const b of r % 2 === 0 ? Object.keys(builds) : Object.keys(builds).reverse()) order.push(b);
const results = Object.fromEntries(
  Object.keys(builds).map((b) => [b, { first: [], update: [], ms: [], updateMs: [] }]),
);

const sshd = await viaLatency(await startSshd(), rttMs);
try {
  for (const [k, build] of order.entries()) {
    const target = path.join(work, `target-${k}`);
    writeFileSync(
      path.join(work, 'diffship.yml'),
      ['waves: [1]', 'targets:', ...sshTargetLines(sshd, target), ''].join('\n'),
    );
    /** One deploy of `to` by `build`'s CLI: its wall ms and its node's VmHWM in MiB. */
    const deploy = (to) => {
      rmSync(hwmFile, { force: true });
      run('sync', []);
      const ms = timeOnce(
        process.execPath,
        ['--require', preload, builds[build], 'deploy', '--to', to, '--repo', wt, '--no-progress'],
        {
          cwd: work,
          env: { ...process.env, BENCH_RSS_FILE: hwmFile },
        },
      );
      return { ms, mib: Number(readFileSync(hwmFile, 'utf8')) / 1024 };
    };
    const first = deploy('A');
    assertTree(`first deploy (${build})`, target, releaseA);
    run('git', ['-C', wt, 'checkout', '-q', 'B']);
    let update;
    try {
      update = deploy('B');
    } finally {
      run('git', ['-C', wt, 'checkout', '-q', 'A']);
    }
    assertTree(`update (${build})`, target, releaseB);
    rmSync(target, { recursive: true, force: true });
    results[build].first.push(first.mib);
    results[build].update.push(update.mib);
    results[build].ms.push(first.ms);
    results[build].updateMs.push(update.ms);
    console.log(
      `${build}: first deploy ${first.mib.toFixed(0)} MiB (${first.ms.toFixed(0)} ms), update ${update.mib.toFixed(0)} MiB (${update.ms.toFixed(0)} ms)`,
    );
  }
} finally {
  await sshd.stop();
  rmSync(work, { recursive: true, force: true });
}
const spread = (xs) => `${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)}`;
console.log(
  `peak RSS of node over SSH (${files} files of 4 KiB, target on ${scratch}${rttMs > 0 ? `, ${rttMs} ms round trip` : ''}, ${runs} runs, load ${os.loadavg()[0].toFixed(2)}, node ${process.version}; target < 150 MiB):`,
);
for (const [build, r] of Object.entries(results))
  console.log(
    `  ${build}: first deploy ${median(r.first).toFixed(0)} MiB [${spread(r.first)}] in ${median(r.ms).toFixed(0)} ms [${spread(r.ms)}], update of 100 ${median(r.update).toFixed(0)} MiB [${spread(r.update)}] in ${median(r.updateMs).toFixed(0)} ms [${spread(r.updateMs)}]`,
  );
