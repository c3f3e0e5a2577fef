#!/usr/bin/env node
// Benchmark: orchestration overhead of a rollout. Run `npm run build` first.
//
//   node bench/rollout/run.mjs [--runs 7] [--targets 50] [--parallel 10]
//
// Fifty local targets in one wave, `max-parallel: 10`, trivial hooks
// (`before`, `activate`, `after`: `run: "true"`, and a `command` check
// `run: "true"`), one small change each: every run ships one changed 300-byte
// file of a 20-file release to every target (A → B, then B → A, …). The
// rollout runs in process through the library's `rollout()`, so Node's start
// is not counted.
//
// What "orchestration overhead" means here. The work is what the report
// times: every step of every target (lock, plan, before, apply, activate,
// verify, after, unlock: the engine calls and the hook processes, timed where
// they run). With `max-parallel` P slots for W ms of wall time the rollout had
// P·W ms of slot time; whatever of it was not spent inside a step is overhead:
// resolving the ref, splitting waves, the pool, events, the change file handed
// to hooks, placeholders, step records, the report, and slots left idle while
// the last targets of the wave finish. Per target:
//
//   overhead = (W · P − Σ step durations) / targets                  target: < 20 ms
//
// It is measured in place, under the same contention as the work, and it is
// an upper bound (idle slots at the end of the wave count). Median of the runs.
//
// Two more figures: the gap inside a target (target-start to target-end minus
// its steps), and a bare loop that does the same engine calls and hooks with
// the same pool and no orchestrator; the rollout's extra wall time over it,
// per target, is (W_rollout − W_bare) / targets (paired runs, median; a
// difference of two walls, so noisy on a loaded machine).
import { mkdirSync, rmSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fastImportRepo, median, requireBuild, root, run } from '../lib.mjs';

requireBuild('bench/rollout');
const lib = (p) => import(path.join(root, 'lib', p));
const { rollout, resolveConfig, TargetSession, createTransport } = await lib('index.js');
const { runHook, hookEnv } = await lib('rollout/hooks.js');
const { runLocal } = await lib('transport/local/run-local.js');
const { mapLimit } = await lib('pool.js');

const args = process.argv.slice(2);
const arg = (name, fallback) => Number(args[args.indexOf(`--${name}`) + 1]) || fallback;
const RUNS = arg('runs', 7);
const TARGETS = arg('targets', 50);
const PARALLEL = arg('parallel', 10);
const FILES = 20;

const base = mkdtempSync(path.join(os.tmpdir(), 'diffship-bench-rollout-'));
const repo = path.join(base, 'repo');
const file = (i, rev) =>
  Buffer.from(
    `${JSON.stringify({ name: `flow ${i}`, rev, steps: Array(8).fill({ type: 'log' }) }, null, 1)}\n`,
  );
const a = new Map();
for (let i = 0; i < FILES; i++) a.set(`workflows/flow-${i}.json`, file(i, 0));
const b = new Map([['workflows/flow-7.json', file(7, 1)]]);
// A, and B with one file changed: A → B and B → A are each one small change.
fastImportRepo(repo, [
  { tag: 'A', files: a },
  { tag: 'B', files: b },
]);
const toSha = new Map(
  ['A', 'B'].map((tag) => [tag, run('git', ['-C', repo, 'rev-parse', tag]).toString().trim()]),
);

const names = Array.from({ length: TARGETS }, (_, i) => `t${String(i).padStart(2, '0')}`);
for (const n of names) mkdirSync(path.join(base, 'targets', n), { recursive: true });
const trivial = { run: 'true' };
const config = resolveConfig(
  {
    source: 'workflows',
    waves: ['100%'],
    'max-parallel': PARALLEL,
    defaults: { before: trivial, activate: trivial, verify: [{ command: { run: 'true' } }], after: trivial },
    targets: names.map((n) => ({ name: n, path: `targets/${n}` })),
  },
  { baseDir: base },
);

/** One measured rollout to `to`. */
async function measured(to) {
  const t0 = performance.now();
  const starts = new Map();
  const ends = new Map();
  const report = await rollout({
    config,
    repo,
    to,
    onEvent: (e) => {
      if (e.type === 'target-start') starts.set(e.target, performance.now());
      if (e.type === 'target-end') ends.set(e.target.name, performance.now());
    },
  });
  const wall = performance.now() - t0;
  if (report.status !== 'succeeded' || report.targets.some((t) => t.status !== 'deployed')) {
    throw new Error(`rollout to ${to}: ${report.status}: ${report.targets.find((t) => t.error)?.error}`);
  }
  const steps = report.targets.map((t) => t.steps.reduce((s, x) => s + x.durationMs, 0));
  const work = steps.reduce((s, x) => s + x, 0);
  const gaps = report.targets.map((t, i) => ends.get(t.name) - starts.get(t.name) - steps[i]);
  return {
    wall,
    workPerTarget: work / TARGETS,
    overhead: (wall * PARALLEL - work) / TARGETS,
    gap: gaps.reduce((s, x) => s + x, 0) / TARGETS,
  };
}

/** The same engine calls and hooks, same pool, no orchestrator: the floor. */
async function bare(to) {
  const t0 = performance.now();
  const changes = path.join(base, 'changes.json');
  await mapLimit(config.targets, PARALLEL, async (target) => {
    const session = await TargetSession.open({
      transport: createTransport(target),
      stateDir: config.stateDir,
      command: 'deploy',
    });
    try {
      const plan = await session.plan({
        repo,
        to: toSha.get(to),
        source: config.source,
        include: config.include,
        exclude: config.exclude,
        mode: config.mode,
        onDrift: config.onDrift,
      });
      const env = hookEnv({
        target: target.name,
        host: target.host,
        path: target.path,
        release: toSha.get(to),
        previousRelease: session.state?.release ?? null,
        deployId: session.deployId,
        changesFile: changes,
      });
      const hook = (h) => runHook(h, { cwd: base, env });
      if (!(await hook(target.hooks.before)).ok) throw new Error('before');
      await session.apply(plan, repo);
      if (!(await hook(target.hooks.activate)).ok) throw new Error('activate');
      if ((await runLocal('true', { cwd: base, env })).code !== 0) throw new Error('verify');
      if (!(await hook(target.hooks.after)).ok) throw new Error('after');
    } finally {
      await session.close();
    }
  });
  return performance.now() - t0;
}

try {
  // First deploy (every file to every target), then one warm-up of each side.
  await measured('A');
  await measured('B');
  await bare('A');

  const results = [];
  const floors = [];
  // Each measured run and each bare run ships one changed file to every target.
  for (let i = 0; i < RUNS; i++) {
    results.push(await measured('B'));
    floors.push(await bare('A'));
  }
  const m = (key) => median(results.map((r) => r[key]));
  const extra = median(results.map((r, i) => (r.wall - floors[i]) / TARGETS));
  const overhead = m('overhead');
  const fmt = (x) => `${x.toFixed(1)} ms`.padStart(10);
  console.log(
    `rollout: ${TARGETS} local targets, one wave, max-parallel ${PARALLEL}, hooks + check "true", 1 changed file each; median of ${RUNS}`,
  );
  console.log(`  rollout wall time                        ${fmt(m('wall'))}`);
  console.log(`  work per target (sum of its steps)       ${fmt(m('workPerTarget'))}`);
  console.log(
    `  orchestration overhead per target        ${fmt(overhead)}   (W·P − Σ steps)/N; target < 20 ms`,
  );
  console.log(`  gap inside a target                      ${fmt(m('gap'))}   its wall − its steps`);
  console.log(`  bare engine loop, same work and pool     ${fmt(median(floors))}`);
  console.log(`  extra wall time per target vs bare loop  ${fmt(extra)}   (W_rollout − W_bare)/N`);
  process.exitCode = overhead < 20 ? 0 : 1;
} finally {
  rmSync(base, { recursive: true, force: true });
}
