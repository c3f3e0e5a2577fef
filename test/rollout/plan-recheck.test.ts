/**
 * The rest of the first wave (past max-parallel) also deploys with preflight's
 * plan (issue 13: a fleet of small updates planned every target twice), but
 * only when the locked target still shows the exact lstats of every path the
 * plan looked at (plan-recheck.ts). Real repositories, target folders and
 * hooks; a hook of the first target edits a later one by hand in between.
 */
import { readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deploy } from '../../src/api.js';
import { resolveConfig } from '../../src/config/resolve.js';
import type { TargetReport } from '../../src/report/types.js';
import type { TargetPlan } from '../../src/plan/types.js';
import { KeptPlans } from '../../src/rollout/kept-plans.js';
import { recheckPaths } from '../../src/rollout/plan-recheck.js';
import { LocalTransport } from '../../src/transport/local/local-transport.js';
import { makeRepo, snapshot } from '../helpers/repo.js';
import { tempDir } from '../helpers/git.js';

let root: string;
let repo: ReturnType<typeof makeRepo>;
let v1: string;
let v2: string;
beforeAll(() => {
  root = tempDir('diffship-plan-recheck-');
  repo = makeRepo();
  v1 = repo.commit({ 'app.json': '1\n', 'lib/x.json': 'x\n' });
  v2 = repo.commit({ 'app.json': '2\n', 'lib/y.json': 'y\n' });
});
afterAll(() => {
  repo.cleanup();
  rmSync(root, { recursive: true, force: true });
});

const planDetail = (t: TargetReport | undefined) => t?.steps.find((s) => s.name === 'plan')?.detail ?? '';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let n = 0;

/** Additive targets holding v1, one at a time; `extra` per target (hooks). */
async function fleet(names: string[], extra: Record<string, Record<string, unknown>> = {}) {
  const dir = path.join(root, `fleet-${n++}`);
  const plain = names.map((name) => ({ name, type: 'local', path: path.join(dir, name) }));
  const targets = plain.map((t) => ({ ...t, ...extra[t.name] }));
  const config = resolveConfig({ 'max-parallel': 1, targets }, { baseDir: root });
  const first = await deploy({
    config: resolveConfig({ targets: plain }, { baseDir: root }),
    repo: repo.dir,
    to: v1,
  });
  expect(first.status).toBe('succeeded');
  // Preflight vouches only for paths that changed more than a second before it looked.
  await sleep(1100);
  return { dir, config };
}

describe('past the first ones: a rechecked plan', () => {
  it('deploys every target, in every wave, with preflight plan', async () => {
    const { dir, config } = await fleet(['a', 'b', 'c']);
    const r = await deploy({ config, repo: repo.dir, to: v2 });
    expect(r.status, JSON.stringify(r.targets.map((t) => t.error))).toBe('succeeded');
    for (const t of r.targets)
      expect(`${t.name}: ${planDetail(t)}`).toMatch(/2 write\(s\).*; planned by preflight$/);
    // The whole job: v2's files in place (additive: the file v2 deletes stays).
    for (const name of ['a', 'b', 'c'])
      expect(snapshot(path.join(dir, name), ['.diffship'])).toEqual({
        'app.json': { type: 'file', content: '2\n', exec: false },
        lib: { type: 'dir' },
        'lib/x.json': { type: 'file', content: 'x\n', exec: false },
        'lib/y.json': { type: 'file', content: 'y\n', exec: false },
      });
  }, 60_000);

  it('plans again when a file was edited by hand in between, keeping its size and mtime', async () => {
    const other = (dir: string) => path.join(dir, 'b', 'app.json');
    const dir = path.join(root, `fleet-${n}`);
    // a's `before` hook runs after preflight and before b's deploy: same size, mtime put back.
    const edit = `cp -p '${other(dir)}' '${other(dir)}.ref' && printf '9\\n' > '${other(dir)}' && touch -r '${other(dir)}.ref' '${other(dir)}' && rm '${other(dir)}.ref'`;
    const { config } = await fleet(['a', 'b'], { a: { before: { run: edit } } });
    const r = await deploy({ config, repo: repo.dir, to: v2 });
    const [a, b] = r.targets;
    expect(a?.status).toBe('deployed');
    expect(planDetail(a)).toMatch(/planned by preflight$/);
    // b planned again, saw the edit as drift, and left the file alone (on-drift: fail).
    expect(planDetail(b)).not.toContain('planned by preflight');
    expect(b?.status).toBe('failed');
    expect(b?.changes.drift).toEqual(['app.json']);
    expect(readFileSync(other(dir), 'utf8')).toBe('9\n');
  }, 60_000);
});

describe('KeptPlans with a recheck', () => {
  const plan = {
    mode: 'additive',
    to: 'x',
    writes: [{ path: 'web/app.json', mode: '100644', blob: 'b'.repeat(40) }],
    deletes: [],
    changes: { added: [], updated: ['web/app.json'], deleted: [], renamed: [], kept: [], drift: [] },
    driftChecked: { scope: 'changes', files: 1 },
  } as unknown as TargetPlan;
  const open = (transport: LocalTransport) => ({
    state: null,
    recovered: null,
    pendingRecovery: false,
    transport,
  });

  it('vouches only for paths older than the plan, and only while they stay the same', async () => {
    const dir = tempDir('diffship-plan-recheck-unit-');
    try {
      const t = new LocalTransport(dir);
      await t.connect({ create: true });
      await t.mkdirp('web');
      writeFileSync(path.join(dir, 'web', 'app.json'), '1\n');
      const kept = () => KeptPlans.forRollout([[{ name: 'x' }, { name: 't' }]], { maxParallel: 1 });

      // Written just now: it may have changed while preflight planned.
      const fresh = kept();
      await fresh.offer('t', plan, null, t, Date.now());
      expect(await fresh.take('t', open(t))).toBeUndefined();

      // Older than the plan: kept, and handed on while nothing changed.
      const later = Date.now() + 2_000;
      const same = kept();
      await same.offer('t', plan, null, t, later);
      expect(await same.take('t', open(t))).toBe(plan);

      // A chmod in between (nothing else changes): planned again.
      const chmod = kept();
      await chmod.offer('t', plan, null, t, later);
      await t.chmod('web/app.json', 0o600);
      expect(await chmod.take('t', open(t))).toBeUndefined();

      // A new file in the folder above, and one at the top: planned again.
      for (const added of ['web/new.json', 'top.json']) {
        const k = kept();
        await k.offer('t', plan, null, t, Date.now() + 4_000);
        writeFileSync(path.join(dir, added), 'new\n');
        // Its own times are put back: the folder's listing still changed.
        utimesSync(path.join(dir, added), 1, 1);
        expect(await k.take('t', open(t)), added).toBeUndefined();
      }
      await t.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('recheckPaths', () => {
  it('gives up on a plan over its bound without reading a path (a first deploy of 500,000 files)', () => {
    let reads = 0;
    const writes = Array.from({ length: 6_000 }, (_, i) => ({
      get path() {
        reads++;
        return `f${i}`;
      },
      mode: '100644' as const,
      blob: 'b',
    }));
    const changes = { added: [], updated: [], deleted: [], renamed: [], kept: [], drift: [] };
    const plan = { mode: 'additive', writes, deletes: [], changes } as unknown as TargetPlan;
    expect(recheckPaths(plan)).toBeNull();
    expect(reads).toBe(0);
    expect(recheckPaths({ ...plan, writes: writes.slice(0, 10) } as TargetPlan)).toHaveLength(10);
  });
});
