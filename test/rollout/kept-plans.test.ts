/**
 * A first-wave target is planned once per rollout (issue 13): the deploy uses
 * preflight's plan when the locked target still holds the state preflight
 * planned from, and plans again otherwise (a state written in between, a
 * later wave, a rollout hook between preflight and the first wave). Real
 * repositories and target folders; the report's plan step says which it was.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deploy } from '../../src/api.js';
import { resolveConfig } from '../../src/config/resolve.js';
import type { ResolvedConfig } from '../../src/config/types.js';
import type { TargetReport } from '../../src/report/types.js';
import type { Transport } from '../../src/transport/transport.js';
import { KeptPlans } from '../../src/rollout/kept-plans.js';
import type { TargetState } from '../../src/apply/state.js';
import type { TargetPlan } from '../../src/plan/types.js';
import { GitObjects } from '../../src/diff/git-objects.js';
import { silentLogger } from '../../src/log.js';
import { preflight } from '../../src/rollout/preflight.js';
import { TargetSession } from '../../src/apply/session.js';
import { LocalTransport } from '../../src/transport/local/local-transport.js';
import { makeRepo, snapshot } from '../helpers/repo.js';
import { tempDir } from '../helpers/git.js';

let root: string;
let repo: ReturnType<typeof makeRepo>;
let v1: string;
let v2: string;
beforeAll(() => {
  root = tempDir('diffship-kept-plans-');
  repo = makeRepo();
  v1 = repo.commit({ 'app.json': '1\n', 'lib/x.json': 'x\n' });
  v2 = repo.commit({ 'app.json': '2\n', 'lib/y.json': 'y\n' });
});
afterAll(() => {
  repo.cleanup();
  rmSync(root, { recursive: true, force: true });
});

/**
 * Preflight of v2 on the config's one target `a` (keeping its plan), then `between`, then the
 * plan the deploy's locked session is handed (undefined: it plans again).
 */
async function preflightThenTake(
  cfg: ResolvedConfig,
  objects: GitObjects,
  between: () => unknown,
): Promise<TargetPlan | undefined> {
  const target = cfg.targets[0]!;
  const keptPlans = KeptPlans.forRollout([[target]], cfg);
  const ctx = { config: cfg, repo: repo.dir, to: v2, objects, log: silentLogger, keptPlans };
  expect(await preflight([target], { ...ctx, signal: new AbortController().signal })).toEqual(new Map());
  await between();
  const session = await TargetSession.open({
    transport: new LocalTransport(target.path),
    stateDir: cfg.stateDir,
    command: 'deploy',
    objects,
  });
  try {
    return await keptPlans.take('a', session);
  } finally {
    await session.close();
  }
}

const planDetail = (t: TargetReport | undefined) => t?.steps.find((s) => s.name === 'plan')?.detail ?? '';
let n = 0;
/** Fresh target folders holding v1 (a stray added by hand in each), and a config for them. */
async function fleet(names: string[]) {
  const dir = path.join(root, `fleet-${n++}`);
  const targets = names.map((name) => ({ name, type: 'local', path: path.join(dir, name) }));
  const config = (raw: Record<string, unknown>) =>
    resolveConfig({ mode: 'authoritative', targets, ...raw }, { baseDir: root });
  const first = await deploy({ config: config({}), repo: repo.dir, to: v1 });
  expect(first.status).toBe('succeeded');
  for (const name of names) writeFileSync(path.join(dir, name, 'stray.txt'), 'by hand\n');
  return { dir, config };
}

describe('preflight hands its plan on to the first wave', () => {
  it('deploys the first wave with preflight plan, and plans a later wave again', async () => {
    const { dir, config } = await fleet(['a', 'b']);
    const r = await deploy({ config: config({ waves: [1, 1] }), repo: repo.dir, to: v2 });
    expect(r.status, JSON.stringify(r.targets.map((t) => t.error))).toBe('succeeded');
    const [a, b] = r.targets;
    expect(planDetail(a)).toMatch(/2 delete\(s\).*; planned by preflight$/);
    expect(planDetail(b)).toMatch(/2 delete\(s\)/);
    expect(planDetail(b)).not.toContain('planned by preflight');
    // Both got the whole job: the release, the stray gone.
    for (const name of ['a', 'b'])
      expect(snapshot(path.join(dir, name), ['.diffship'])).toEqual(snapshot(repo.dir, ['.git']));
  }, 60_000);

  it('hands nothing on once another run wrote the state between preflight and the lock', async () => {
    const { dir, config } = await fleet(['a']);
    const cfg = config({});
    const objects = new GitObjects(repo.dir);
    const look = (between: () => Promise<void>) => preflightThenTake(cfg, objects, between);
    try {
      // Nothing in between: the locked session finds preflight's state, and gets its plan.
      expect((await look(async () => {}))?.to).toBe(v2);
      // Another run deploys v2 and then v1 again: the same files as preflight saw, but another state.
      const other = async () => {
        for (const to of [v2, v1])
          expect((await deploy({ config: { ...cfg, preflight: false }, repo: repo.dir, to })).status).toBe(
            'succeeded',
          );
        writeFileSync(path.join(dir, 'a', 'stray.txt'), 'by hand\n');
      };
      expect(await look(other)).toBeUndefined();
    } finally {
      objects.close();
    }
  }, 60_000);

  it('plans again after a before-rollout hook, which may have changed the targets', async () => {
    const { dir, config } = await fleet(['a']);
    // The hook adds a second stray: a plan made before it would leave it behind.
    const hook = `echo late > '${path.join(dir, 'a', 'late.txt')}'`;
    const r = await deploy({ config: config({ 'before-rollout': { run: hook } }), repo: repo.dir, to: v2 });
    expect(r.status, JSON.stringify(r.targets.map((t) => t.error))).toBe('succeeded');
    expect(planDetail(r.targets[0])).toMatch(/3 delete\(s\)/);
    expect(planDetail(r.targets[0])).not.toContain('planned by preflight');
    expect(snapshot(path.join(dir, 'a'), ['.diffship'])).toEqual(snapshot(repo.dir, ['.git']));
  }, 60_000);

  it('hands on the plan of a target folder preflight found missing, when the deploy finds it empty', async () => {
    const dir = path.join(root, `fleet-${n++}`);
    mkdirSync(dir);
    const cfg = resolveConfig(
      { mode: 'authoritative', targets: [{ name: 'a', type: 'local', path: path.join(dir, 'a') }] },
      { baseDir: root },
    );
    const r = await deploy({ config: cfg, repo: repo.dir, to: v2 });
    expect(r.status).toBe('succeeded');
    expect(planDetail(r.targets[0])).toMatch(/2 write\(s\), 0 delete\(s\).*; planned by preflight$/);
    expect(snapshot(path.join(dir, 'a'), ['.diffship'])).toEqual(snapshot(repo.dir, ['.git']));
  }, 60_000);

  it('plans again when the folder preflight found missing holds something by the time of the lock', async () => {
    const dir = path.join(root, `fleet-${n++}`);
    mkdirSync(dir);
    const cfg = resolveConfig(
      { mode: 'authoritative', targets: [{ name: 'a', type: 'local', path: path.join(dir, 'a') }] },
      { baseDir: root },
    );
    const target = cfg.targets[0]!;
    const objects = new GitObjects(repo.dir);
    const look = (between: () => void) => {
      rmSync(target.path, { recursive: true, force: true });
      return preflightThenTake(cfg, objects, between);
    };
    try {
      // Still missing (the deploy's session creates it): preflight's "everything added" plan.
      expect((await look(() => {}))?.writes.map((w) => w.path)).toEqual(['app.json', 'lib/y.json']);
      // Made in between with a file in it: an authoritative plan must see it (a stray to delete).
      const made = () => {
        mkdirSync(target.path);
        writeFileSync(path.join(target.path, 'stray.txt'), 'by hand\n');
      };
      expect(await look(made)).toBeUndefined();
      // An empty folder made in between is no different from a missing one.
      expect((await look(() => mkdirSync(target.path)))?.to).toBe(v2);
    } finally {
      objects.close();
    }
  }, 60_000);
});

describe('KeptPlans.take', () => {
  const state = (deployId: string): TargetState => ({
    version: 3,
    release: 'a'.repeat(40),
    previousRelease: null,
    deployId,
    deployedAt: '2026-12-01T00:00:00.000Z',
    mode: 'authoritative',
    kept: [],
    manifest: null,
    manifestFile: { file: `${deployId}.tsv`, sha256: 'b'.repeat(64), size: 10 },
  });
  const plan = { to: 'x' } as unknown as TargetPlan;
  /** A locked session whose target folder lists `names` (by folder; absent: missing). */
  const open = (
    s: TargetState | null,
    recovered: string | null = null,
    pendingRecovery = false,
    names: Record<string, string[]> = {},
  ) => ({
    state: s,
    recovered,
    pendingRecovery,
    // Only readdir is asked of it (a folder preflight found missing).
    transport: { readdir: async (rel: string) => names[rel] ?? null } as unknown as Transport,
    layout: { dir: '.deploy/diffship' },
  });

  it('gives the plan once, to a session that found the same state and no journal', async () => {
    const kept = KeptPlans.forRollout([[{ name: 't' }]], { maxParallel: 4 });
    await kept.offer('t', plan, state('d1'));
    expect(await kept.take('t', open(state('d1')))).toBe(plan);
    expect(await kept.take('t', open(state('d1')))).toBeUndefined();
  });

  it("gives a missing folder's plan only when the folder holds nothing but the state folder", async () => {
    const only = { '': ['.deploy'], '.deploy': ['diffship'] };
    const cases: Array<[ReturnType<typeof open>, TargetPlan | undefined]> = [
      [open(null, null, false, only), plan],
      [open(null, null, false, { ...only, '': ['.deploy', 'index.html'] }), undefined],
      [open(null, null, false, { ...only, '.deploy': ['diffship', 'other'] }), undefined],
      [open(null, null, false, { '': ['.deploy'] }), undefined],
      // A state written in between (another run deployed there), or a journal found.
      [open(state('d1'), null, false, only), undefined],
      [open(null, null, true, only), undefined],
    ];
    for (const [session, expected] of cases) {
      const kept = KeptPlans.forRollout([[{ name: 't' }]], { maxParallel: 4 });
      await kept.offer('t', plan, null, undefined, 0, true);
      expect(await kept.take('t', session)).toBe(expected);
    }
    // A plan made on a missing folder is never the plan of "no state, folder there".
    const kept = KeptPlans.forRollout([[{ name: 't' }]], { maxParallel: 4 });
    await kept.offer('t', plan, null);
    expect(await kept.take('t', open(null, null, false, { '': ['.deploy', 'x'] }))).toBe(plan);
  });

  it('refuses after a recovery, with a journal, or with another state', async () => {
    for (const session of [
      open(state('d1'), 'undid interrupted deploy x'),
      open(state('d1'), null, true),
      open(state('d2')),
      open({ ...state('d1'), manifestFile: { file: 'd1.tsv', sha256: 'c'.repeat(64), size: 10 } }),
      open(null),
    ]) {
      const kept = KeptPlans.forRollout([[{ name: 't' }]], { maxParallel: 4 });
      await kept.offer('t', plan, state('d1'));
      expect(await kept.take('t', session)).toBeUndefined();
    }
  });

  it('keeps the first wave up to max-parallel as is, the rest (and all after a rollout hook) only rechecked', async () => {
    const waves = [[{ name: 'a' }, { name: 'b' }], [{ name: 'c' }]];
    const kept = KeptPlans.forRollout(waves, { maxParallel: 1 });
    // b (first wave, past max-parallel) and c (a later wave) need a recheck, which needs a local transport.
    for (const name of ['a', 'b', 'c']) await kept.offer(name, plan, null);
    const taken = [];
    for (const name of ['a', 'b', 'c']) taken.push(await kept.take(name, open(null)));
    expect(taken).toEqual([plan, undefined, undefined]);
    const hooked = KeptPlans.forRollout(waves, {
      maxParallel: 4,
      rolloutHooks: { beforeWave: { run: 'true' } as never },
    });
    await hooked.offer('a', plan, null);
    expect(await hooked.take('a', open(null))).toBeUndefined();
  });
});
