/**
 * The public library, as users get it: the BUILT package entry (`lib/index.js`,
 * what `import 'diffship'` resolves to through package.json `exports`). A real
 * plan, deploy, status and rollback on a temp repo and a local target, through
 * the library API only; and importing the package has no side effects.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type * as Diffship from '../src/index.js';
import { makeRepo, snapshot } from './helpers/repo.js';
import { git, tempDir } from './helpers/git.js';

const ROOT = resolve(import.meta.dirname, '..');
const ENTRY = join(ROOT, 'lib/index.js');

let api: typeof Diffship;
let repo: ReturnType<typeof makeRepo>;
let ws: string;
let v1: string;
let v2: string;

beforeAll(async () => {
  api = (await import(pathToFileURL(ENTRY).href)) as typeof Diffship;
  repo = makeRepo();
  v1 = repo.commit({
    'wf/a.json': 'a1\n',
    'wf/b.json': 'b1\n',
    'wf/bin/run.sh': { content: 'x\n', mode: 0o755 },
  });
  git(repo.dir, 'tag', 'v1');
  v2 = repo.commit({
    'wf/a.json': 'a2\n',
    'wf/c.json': 'c2\n',
    'wf/bin/run.sh': { content: 'x\n', mode: 0o755 },
  });
  git(repo.dir, 'tag', 'v2');
  ws = tempDir('diffship-lib-');
});
afterAll(() => {
  repo.cleanup();
  rmSync(ws, { recursive: true, force: true });
});

describe('the package entry', () => {
  it('package.json exports point at the built lib/index.js and its types', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      name: string;
      exports: Record<string, unknown>;
    };
    expect(pkg.name).toBe('diffship');
    expect(pkg.exports['.']).toEqual({ types: './lib/index.d.ts', import: './lib/index.js' });
    expect(existsSync(ENTRY)).toBe(true);
    expect(existsSync(join(ROOT, 'lib/index.d.ts'))).toBe(true);
  });

  it('exports the documented API', () => {
    for (const name of [
      'diffReleases',
      'writeDiffJson',
      'loadConfig',
      'resolveConfig',
      'withOverrides',
      'plan',
      'deploy',
      'rollback',
      'rollout',
      'status',
      'TargetSession',
      'createTransport',
      'DiffshipError',
      'ConfigError',
      'ConfigValidationError',
      'GitError',
      'TransportError',
      'exitCodeFor',
      'describeError',
      'renderSummary',
      'writeReportFile',
    ]) {
      expect(typeof (api as Record<string, unknown>)[name], name).toBe('function');
    }
    expect(new api.ConfigError('x')).toBeInstanceOf(api.DiffshipError);
  });

  it("import 'diffship' resolves to lib/index.js and has no side effects: no @actions, no CLI, no output, no handles", () => {
    // Every module the import resolves (ESM and require() alike) goes through this hook.
    const script = `
      import { registerHooks } from 'node:module';
      const urls = [];
      registerHooks({ resolve(specifier, context, next) { const r = next(specifier, context); urls.push(r.url); return r; } });
      const listeners = () => ['SIGINT', 'SIGTERM', 'exit', 'uncaughtException'].map((e) => process.listenerCount(e));
      const before = listeners();
      const m = await import('diffship');
      process.stdout.write(JSON.stringify({
        resolved: import.meta.resolve('diffship'),
        urls,
        keys: Object.keys(m).length,
        listenersBefore: before,
        listenersAfter: listeners(),
        exitCode: process.exitCode ?? null,
        handles: process.getActiveResourcesInfo().filter((r) => !/^(TTYWrap|PipeWrap|FSReqCallback)$/.test(r)),
      }));
    `;
    const cwd = tempDir('diffship-import-');
    try {
      // Self-reference by name works from inside the package; run from its root, write nothing there.
      const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
        cwd: ROOT,
        encoding: 'utf8',
        timeout: 30_000,
        env: { ...process.env, GITHUB_ACTIONS: 'true', INPUT_COMMAND: 'deploy', RUNNER_TEMP: cwd },
      });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      const out = JSON.parse(r.stdout) as {
        resolved: string;
        urls: string[];
        keys: number;
        listenersBefore: number[];
        listenersAfter: number[];
        exitCode: number | null;
        handles: string[];
      };
      expect(out.resolved).toBe(pathToFileURL(ENTRY).href);
      expect(out.keys).toBeGreaterThan(20);
      expect(out.urls.length).toBeGreaterThan(10);
      expect(out.urls.filter((u) => u.includes('@actions'))).toEqual([]);
      expect(out.urls.filter((u) => /\/lib\/(action|cli)\//.test(u))).toEqual([]);
      expect(out.urls.filter((u) => /node_modules\/(commander|log-update)\//.test(u))).toEqual([]);
      expect(out.listenersAfter).toEqual(out.listenersBefore);
      expect(out.exitCode).toBe(null);
      expect(out.handles).toEqual([]);
      // Even with the action's environment set, importing the library ran nothing.
      expect(snapshot(cwd, [])).toEqual({});
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  });
});

describe('plan, deploy, status and rollback through the library', () => {
  it('runs a whole cycle on a local target', async () => {
    const config = api.resolveConfig(
      { source: 'wf', targets: [{ name: 'dev', type: 'local', path: 'target/dev', labels: ['eu'] }] },
      { baseDir: ws },
    );
    const target = join(ws, 'target/dev');
    expect(config.targets[0]!.path).toBe(target);

    // diffReleases: the change set between the two releases.
    const diff = await api.diffReleases({ repo: repo.dir, from: 'v1', to: 'v2', source: 'wf' });
    expect(diff.changes.map((c) => [c.status, c.path])).toEqual([
      ['updated', 'a.json'],
      ['deleted', 'b.json'],
      ['added', 'c.json'],
    ]);

    // plan: a folder not created yet is "everything added"; nothing is written.
    const planned = await api.plan({ config, repo: repo.dir, to: 'v1' });
    expect(planned).toMatchObject({ command: 'plan', status: 'planned', to: v1, ref: 'v1' });
    expect(planned.targets[0]!.changes.added).toEqual(['a.json', 'b.json', 'bin/run.sh']);
    expect(existsSync(join(ws, 'target'))).toBe(false);

    // deploy, with progress events.
    const events: Diffship.RolloutEvent[] = [];
    const first = await api.deploy({ config, repo: repo.dir, to: 'v1', onEvent: (e) => events.push(e) });
    expect(first).toMatchObject({ command: 'deploy', status: 'succeeded', waves: [['dev']] });
    expect(first.targets[0]).toMatchObject({ name: 'dev', status: 'deployed', from: null, to: v1 });
    expect(snapshot(target)).toEqual({
      'a.json': { type: 'file', content: 'a1\n', exec: false },
      'b.json': { type: 'file', content: 'b1\n', exec: false },
      bin: { type: 'dir' },
      'bin/run.sh': { type: 'file', content: 'x\n', exec: true },
    });
    const types = new Set(events.map((e) => e.type));
    for (const t of [
      'start',
      'wave-start',
      'target-start',
      'step-start',
      'step-end',
      'target-end',
      'wave-end',
    ])
      expect(types, t).toContain(t);

    // A second deploy from a loaded file, with overrides, selected by label.
    const file = join(ws, 'diffship.yml');
    writeFileSync(
      file,
      'source: wf\ntargets:\n  - { name: dev, type: local, path: target/dev, labels: [eu] }\n',
    );
    const loaded = api.withOverrides(await api.loadConfig(file), { mode: 'authoritative' });
    expect(loaded.mode).toBe('authoritative');
    const second = await api.deploy({ config: loaded, repo: repo.dir, to: 'v2', targets: 'label:eu' });
    expect(second.status).toBe('succeeded');
    expect(second.targets[0]!.changes).toMatchObject({
      added: ['c.json'],
      updated: ['a.json'],
      deleted: ['b.json'],
    });
    expect(existsSync(join(target, 'b.json'))).toBe(false);
    expect(api.renderSummary(second)).toMatch(/\ndev +1 +deployed +1 +1 +1 /);

    // status: what the target holds, drift after a hand edit.
    writeFileSync(join(target, 'c.json'), 'by hand\n');
    const [info] = await api.status({ config, repo: repo.dir });
    expect(info).toMatchObject({
      name: 'dev',
      release: v2,
      previousRelease: v1,
      drift: ['c.json'],
      error: null,
    });
    writeFileSync(join(target, 'c.json'), 'c2\n');

    // The advanced engine: a read-only session plans without a lock.
    const session = await api.TargetSession.open({
      transport: api.createTransport(config.targets[0]!),
      stateDir: config.stateDir,
      command: 'plan',
      readOnly: true,
    });
    try {
      expect(session.state?.release).toBe(v2);
      // The same selection as deployed (source: wf): nothing to do.
      const p = await session.plan({
        repo: repo.dir,
        to: v2,
        source: 'wf',
        mode: 'additive',
        onDrift: 'fail',
      });
      expect(p).toMatchObject({ writes: [], deletes: [], drift: [], blocked: null });
      // Another selection (the whole repository): compared in full with the target, not skipped.
      const other = await session.plan({ repo: repo.dir, to: v2, mode: 'additive', onDrift: 'fail' });
      expect(other.selectionChanged).toBe(true);
      expect(other.writes.map((w) => w.path)).toContain('wf/a.json');
    } finally {
      await session.close();
    }

    // rollback: back to v1 byte for byte.
    const back = await api.rollback({ config, repo: repo.dir });
    expect(back).toMatchObject({ command: 'rollback', status: 'succeeded' });
    expect(back.targets[0]).toMatchObject({ status: 'rolled-back', to: v1 });
    expect(snapshot(target)['b.json']).toEqual({ type: 'file', content: 'b1\n', exec: false });
    expect(existsSync(join(target, 'c.json'))).toBe(false);
  });

  it('rejects with a typed error (and exit code 2) for problems found before anything is written', async () => {
    const config = api.resolveConfig(
      { targets: [{ name: 'dev', type: 'local', path: 'x' }] },
      { baseDir: ws },
    );
    const selector = await api.deploy({ config, repo: repo.dir, targets: 'dve' }).catch((e: unknown) => e);
    expect(selector).toBeInstanceOf(api.DiffshipError);
    expect(selector).toMatchObject({ code: 'E_USAGE' });
    expect(api.describeError(selector)).toContain('did you mean "dev"?');
    expect(api.exitCodeFor(selector)).toBe(2);

    const ref = await api.plan({ config, repo: repo.dir, to: 'no-such-ref' }).catch((e: unknown) => e);
    expect(ref).toBeInstanceOf(api.GitError);
    expect(ref).toMatchObject({ code: 'E_REF' });

    const bad = (() => {
      try {
        return api.resolveConfig({ targets: [{ name: 'dev', type: 'local' }] });
      } catch (e) {
        return e;
      }
    })();
    expect(bad).toBeInstanceOf(api.ConfigValidationError);
    expect(bad).toBeInstanceOf(api.ConfigError);
    expect(api.describeError(bad)).toContain('targets[0].path: required');
    expect(api.exitCodeFor(bad)).toBe(2);
    expect(existsSync(join(ws, 'x'))).toBe(false);
  });
});
