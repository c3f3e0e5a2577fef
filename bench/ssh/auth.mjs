// The authoritative case of bench/ssh/run.mjs (`--only auth`): a target holding
// release A (--auth-files, default 20,000 small files in 100 folders) plus 20
// stray files gets release B (20 files changed), in authoritative mode, against
// `rsync -a --delete -e ssh` doing the same job from a checkout switched from A
// to B (only the changed files get a new mtime, so rsync's quick check finds
// them). Issue 13's target: ≤ 1.0× rsync at 50,000 files.
//
// `--auth-strays N`: N strays in place of 20 (past 20, 1,000 to a folder under junk/), for an
// authoritative deploy that deletes many over SSH; diffship's peak RSS is reported (its VmHWM).
//
// `--before <dir>`: also time the diffship of another build (a checkout of an
// older commit, built with `npm run build`), alternated with the others in the
// same rounds, for before/after figures on the same machine state.
//
// Every round sets up new targets (untimed: diffship deploys A, rsync copies A,
// then the same strays are added to each), flushes dirty pages, then times each
// tool once (the order rotates); afterwards each target is compared file by file
// with release B (strays gone), so a tool that did less stops the benchmark.
import os from 'node:os';
import path from 'node:path';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import {
  assertTree,
  checkout,
  cli,
  fastImportRepo,
  median,
  peakRssPreload,
  ratio,
  run,
  switchCheckout,
  timeOnce,
  treeDigest,
} from '../lib.mjs';
import { sshTargetLines } from './sshd.mjs';

const CHANGED = 20;
/** Runs the case and prints its line; `sshd` from bench/ssh/sshd.mjs. */
export function authCase({ sshd, work, runs, files, before, strays: STRAYS = 20 }) {
  const base = path.join(os.tmpdir(), `diffship-bench-ssh-auth-v1-${files}`);
  const repo = path.join(base, 'repo');
  const pathOf = (i) => `app/m${String(i % 100).padStart(2, '0')}/f${String(i).padStart(6, '0')}.txt`;
  const contentOf = (i, rev = 0) => Buffer.from(`file ${i} revision ${rev}\n`.repeat(1 + (i % 40)));
  const a = new Map();
  for (let i = 0; i < files; i++) a.set(pathOf(i), contentOf(i));
  const b = new Map();
  for (let k = 0; k < CHANGED; k++) {
    const i = Math.floor((k * files) / CHANGED) + 3;
    b.set(pathOf(i), contentOf(i, 1));
  }
  fastImportRepo(repo, [
    { tag: 'A', files: a },
    { tag: 'B', files: b },
  ]);
  const co = path.join(base, 'checkout');
  checkout(repo, 'A', co);
  switchCheckout(repo, co, 'A', 'B');
  const releaseB = treeDigest(co);
  switchCheckout(repo, co, 'B', 'A');

  const dir = path.join(work, 'auth');
  mkdirSync(dir, { recursive: true });
  const host = `${sshd.user}@127.0.0.1`;
  const clis = { diffship: cli, ...(before ? { before: path.join(before, 'bin/diffship.js') } : {}) };
  const tools = [...Object.keys(clis), 'rsync'];
  const targetOf = (tool, round) => path.join(dir, `${tool}-${round}`);
  /** A diffship.yml per tool and round (its own folder: the CLI reads ./diffship.yml). */
  const configFor = (target) => {
    const cwd = `${target}.ws`;
    mkdirSync(cwd, { recursive: true });
    writeFileSync(
      path.join(cwd, 'diffship.yml'),
      ['mode: authoritative', 'waves: [1]', 'targets:', ...sshTargetLines(sshd, target), ''].join('\n'),
    );
    return cwd;
  };
  const preload = peakRssPreload(dir);
  const rssFile = path.join(dir, 'node-rss');
  const deploy = (tool, target, to) => [
    process.execPath,
    ['--require', preload, clis[tool], 'deploy', '--to', to, '--repo', repo, '--no-progress'],
    { cwd: `${target}.ws`, env: { ...process.env, BENCH_RSS_FILE: rssFile } },
  ];
  const peaks = Object.fromEntries(Object.keys(clis).map((t) => [t, []]));
  const rsync = (target) => [
    'rsync',
    ['-a', '--delete', '-e', `ssh ${sshd.sshArgs.join(' ')}`, `${co}/`, `${host}:${target}/`],
  ];
  const addStrays = (target) => {
    mkdirSync(path.join(target, 'junk'), { recursive: true });
    if (STRAYS <= 20)
      for (let s = 0; s < STRAYS; s++)
        writeFileSync(path.join(target, s % 2 ? 'junk' : 'app/m07', `stray-${s}.txt`), `stray ${s}\n`);
    else
      for (let s = 0; s < STRAYS; s++) {
        const folder = path.join(target, 'junk', `d${Math.floor(s / 1000)}`);
        if (s % 1000 === 0) mkdirSync(folder);
        writeFileSync(path.join(folder, `s${s % 1000}`), '');
      }
  };

  const times = Object.fromEntries(tools.map((t) => [t, []]));
  // The setup's first deploys, timed too: recording the stat cache over SSH costs them something.
  const firsts = Object.fromEntries(tools.map((t) => [t, []]));
  for (let r = -1; r < runs; r++) {
    for (const tool of tools) {
      const target = targetOf(tool, r);
      run('sync', []);
      let ms;
      if (tool === 'rsync') ms = timeOnce(...rsync(target));
      else {
        configFor(target);
        ms = timeOnce(...deploy(tool, target, 'A'));
      }
      if (r >= 0) firsts[tool].push(ms);
      addStrays(target);
    }
    switchCheckout(repo, co, 'A', 'B');
    const order = tools.map((_, i) => tools[(i + Math.max(r, 0)) % tools.length]);
    for (const tool of order) {
      const target = targetOf(tool, r);
      run('sync', []);
      const ms = timeOnce(...(tool === 'rsync' ? rsync(target) : deploy(tool, target, 'B')));
      assertTree(`authoritative update, ${tool}`, target, releaseB);
      if (r >= 0) times[tool].push(ms);
      if (r >= 0 && tool !== 'rsync') peaks[tool].push(Number(readFileSync(rssFile, 'utf8')) / 1024);
    }
    switchCheckout(repo, co, 'B', 'A');
    for (const tool of tools) {
      rmSync(targetOf(tool, r), { recursive: true, force: true });
      rmSync(`${targetOf(tool, r)}.ws`, { recursive: true, force: true });
    }
  }
  if (process.env.BENCH_VERBOSE) console.log(JSON.stringify({ times, firsts }));
  const fmt = (xs) =>
    `${median(xs).toFixed(0)} ms [${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)}]`;
  const lines = [
    `authoritative update over ssh (${files} files, ${CHANGED} changed, ${STRAYS} strays), ${runs} runs each, median wall time (load ${os.loadavg()[0].toFixed(2)}):`,
    `  rsync -a --delete -e ssh ${fmt(times.rsync)}`,
    `  diffship ${fmt(times.diffship)}, ratio ${ratio(median(times.diffship), median(times.rsync))}× (goal ≤ 1.0×), node peak RSS ${Math.max(...peaks.diffship).toFixed(0)} MiB`,
  ];
  if (before)
    lines.push(
      `  diffship before (${before}) ${fmt(times.before)}, ratio ${ratio(median(times.before), median(times.rsync))}×, node peak RSS ${Math.max(...peaks.before).toFixed(0)} MiB`,
    );
  lines.push(
    `  (setup, first deploy of ${files} files: rsync -a ${fmt(firsts.rsync)}, diffship ${fmt(firsts.diffship)}${before ? `, before ${fmt(firsts.before)}` : ''})`,
  );
  console.log(lines.join('\n'));
}
