/**
 * `diffship plan`, `deploy --dry-run` and `deploy` through the real CLI (a child
 * process), on a real repository with three releases and real target folders:
 * output, exit codes, the JSON report and the trees left on the targets.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Report, TargetReport } from '../../src/report/types.js';
import { cli, type CliResult } from '../helpers/cli.js';
import { makeRepo, snapshot, type SnapEntry, type Tree } from '../helpers/repo.js';
import { git, tempDir } from '../helpers/git.js';

const LONG = Array.from({ length: 40 }, (_, i) => `"line": ${i}\n`).join('');

const V1: Tree = {
  'wf/a.json': 'a1\n',
  'wf/b.json': 'b1\n',
  'wf/run.sh': 'echo run\n',
  'wf/sub/deep.json': LONG,
  'wf/link': { link: 'a.json' },
  'README.md': 'not in the source folder\n',
};
const V2: Tree = {
  'wf/a.json': 'a2\n',
  'wf/c.json': 'c2\n',
  'wf/run.sh': { content: 'echo run\n', mode: 0o755 },
  'wf/sub/deeper.json': LONG,
  'wf/link': { link: 'c.json' },
  'wf/new/x.json': 'x2\n',
  'README.md': 'not in the source folder\n',
};

/** What a target folder holding exactly `tree`'s source folder looks like to `snapshot`. */
function releaseTree(tree: Tree, source = 'wf/'): Record<string, SnapEntry> {
  const out: Record<string, SnapEntry> = {};
  for (const [path, spec] of Object.entries(tree)) {
    if (!path.startsWith(source)) continue;
    const rel = path.slice(source.length);
    const parts = rel.split('/');
    for (let i = 1; i < parts.length; i++) out[parts.slice(0, i).join('/')] = { type: 'dir' };
    if (typeof spec === 'string') out[rel] = { type: 'file', content: spec, exec: false };
    else if ('link' in spec) out[rel] = { type: 'symlink', content: spec.link };
    else out[rel] = { type: 'file', content: spec.content, exec: ((spec.mode ?? 0o644) & 0o111) !== 0 };
  }
  return out;
}

/** Bytes of the files (and link targets) under `source` in `tree`. */
function sourceBytes(tree: Tree, source = 'wf/'): number {
  return Object.entries(tree)
    .filter(([path]) => path.startsWith(source))
    .reduce((sum, [, spec]) => {
      const text = typeof spec === 'string' ? spec : 'link' in spec ? spec.link : spec.content;
      return sum + Buffer.byteLength(text);
    }, 0);
}

let repo: ReturnType<typeof makeRepo>;
let v1: string;
let v2: string;
const dirs: string[] = [];

beforeAll(() => {
  repo = makeRepo();
  v1 = repo.commit(V1, 'v1');
  git(repo.dir, 'tag', 'v1');
  v2 = repo.commit(V2, 'v2');
  git(repo.dir, 'tag', 'v2');
});
afterAll(() => {
  repo.cleanup();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A folder holding diffship.yml (source: wf) with `targets` (name → relative path, labels). */
function workspace(targets: Record<string, { labels?: string[] }>, extra = ''): string {
  const dir = tempDir('diffship-deploy-');
  dirs.push(dir);
  const lines = ['source: wf', extra, 'targets:'];
  for (const [name, t] of Object.entries(targets)) {
    lines.push(`  - name: ${name}`, `    type: local`, `    path: t/${name}`);
    if (t.labels) lines.push(`    labels: [${t.labels.join(', ')}]`);
  }
  writeFileSync(join(dir, 'diffship.yml'), `${lines.join('\n')}\n`);
  return dir;
}

/** `diffship <command> --repo <repo> … --no-progress` in `ws`. */
function run(ws: string, args: string[]): CliResult {
  const [command, ...rest] = args;
  return cli(ws, [command!, '--repo', repo.dir, '--no-progress', ...rest]);
}

/** Run with `--json` and return the parsed report. */
function runJson(ws: string, args: string[]): { r: CliResult; report: Report } {
  const r = run(ws, [...args, '--json']);
  let report: Report;
  try {
    report = JSON.parse(r.stdout) as Report;
  } catch {
    throw new Error(`no JSON report (exit ${r.code}): ${r.stdout}\n${r.stderr}`);
  }
  return { r, report };
}

const target = (report: Report, name: string): TargetReport => {
  const t = report.targets.find((x) => x.name === name);
  if (!t) throw new Error(`no target ${name} in the report`);
  return t;
};

const state = (ws: string, name: string) =>
  JSON.parse(readFileSync(join(ws, 't', name, '.diffship/state.json'), 'utf8')) as {
    release: string;
    previousRelease: string | null;
    mode: string;
    kept: Array<{ path: string }>;
  };

describe('plan and deploy --dry-run', () => {
  it('plans a target folder that does not exist yet as "everything added", creating nothing', () => {
    const ws = workspace({ dev: {} });
    const reportFile = join(ws, 'out/plan.json');
    const { r, report } = runJson(ws, ['plan', '--to', 'v1', '--report', reportFile]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(report).toMatchObject({ version: 1, command: 'plan', status: 'planned', to: v1, ref: 'v1' });
    expect(target(report, 'dev')).toMatchObject({
      status: 'planned',
      from: null,
      to: v1,
      bytes: sourceBytes(V1), // what the deploy would write (blob sizes; a link's is its target)
      error: null,
      changes: {
        added: ['a.json', 'b.json', 'link', 'run.sh', 'sub/deep.json'],
        updated: [],
        deleted: [],
        renamed: [],
        kept: [],
        drift: [],
      },
    });
    expect(target(report, 'dev').steps.map((s) => s.name)).toEqual(['lock', 'plan']);
    expect(JSON.parse(readFileSync(reportFile, 'utf8'))).toEqual(report);
    expect(existsSync(join(ws, 't'))).toBe(false);

    // The human summary says the same.
    const human = run(ws, ['plan', '--to', 'v1']);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^TARGET +WAVE +STATUS +ADDED +UPDATED +DELETED +RENAMED +KEPT +DRIFT/);
    expect(human.stdout).toMatch(/\ndev +1 +planned +5 +0 +0 +0 +0 +0 /);
    expect(human.stdout).toContain(`planned: plan v1 (${v1.slice(0, 12)}), additive — 1 planned`);
    expect(existsSync(join(ws, 't'))).toBe(false);
  });

  it('deploy --dry-run equals plan: the change set from the recorded release, the target and its state untouched', () => {
    const ws = workspace({ dev: {} });
    expect(run(ws, ['deploy', '--to', 'v1']).code).toBe(0);
    const before = snapshot(join(ws, 't/dev'), []);

    for (const args of [
      ['deploy', '--dry-run', '--to', 'v2'],
      ['plan', '--to', 'v2'],
    ]) {
      const { r, report } = runJson(ws, args);
      expect(r.code).toBe(0);
      expect(report).toMatchObject({ command: 'plan', status: 'planned', to: v2 });
      expect(target(report, 'dev')).toMatchObject({
        status: 'planned',
        from: v1,
        to: v2,
        changes: {
          added: ['c.json', 'new/x.json'],
          updated: ['a.json', 'link', 'run.sh'],
          deleted: [], // additive: b.json is kept, not deleted
          renamed: [{ from: 'sub/deep.json', to: 'sub/deeper.json' }],
          kept: ['b.json', 'sub/deep.json'],
          drift: [],
        },
      });
      // Nothing written: not the files, not the state folder (no lock, staging or backup either).
      expect(snapshot(join(ws, 't/dev'), [])).toEqual(before);
    }
  });
});

describe('deploy', () => {
  it('additive: writes the release exactly (content, exec bit, symlinks), keeps what it deleted, then has nothing to do', () => {
    const ws = workspace({ dev: {} });
    const first = runJson(ws, ['deploy', '--to', 'v1']);
    expect(first.r.code).toBe(0);
    expect(first.report).toMatchObject({ command: 'deploy', status: 'succeeded', mode: 'additive' });
    const t1 = target(first.report, 'dev');
    expect(t1).toMatchObject({ status: 'deployed', from: null, to: v1, error: null });
    expect(t1.bytes).toBe(Buffer.byteLength(`a1\nb1\necho run\n${LONG}a.json`));
    expect(t1.steps.map((s) => [s.name, s.status])).toEqual([
      ['lock', 'ok'],
      ['plan', 'ok'],
      ['apply', 'ok'],
      ['unlock', 'ok'],
    ]);
    expect(snapshot(join(ws, 't/dev'))).toEqual(releaseTree(V1));
    expect(state(ws, 'dev')).toMatchObject({ release: v1, previousRelease: null, mode: 'additive' });

    const second = runJson(ws, ['deploy', '--to', 'v2']);
    expect(second.r.code).toBe(0);
    expect(target(second.report, 'dev')).toMatchObject({
      status: 'deployed',
      from: v1,
      to: v2,
      changes: {
        added: ['c.json', 'new/x.json'],
        updated: ['a.json', 'link', 'run.sh'],
        deleted: [], // additive: b.json is kept, not deleted
        renamed: [{ from: 'sub/deep.json', to: 'sub/deeper.json' }],
        kept: ['b.json', 'sub/deep.json'],
        drift: [],
      },
    });
    // Additive: the release's deletions (and a rename's old path) stay in place, recorded as kept.
    expect(snapshot(join(ws, 't/dev'))).toEqual({
      ...releaseTree(V2),
      'b.json': { type: 'file', content: 'b1\n', exec: false },
      'sub/deep.json': { type: 'file', content: LONG, exec: false },
    });
    expect(state(ws, 'dev')).toMatchObject({ release: v2, previousRelease: v1 });
    expect(state(ws, 'dev').kept.map((k) => k.path)).toEqual(['b.json', 'sub/deep.json']);

    const again = run(ws, ['deploy', '--to', 'v2']);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/\ndev +1 +unchanged /);
    expect(again.stdout).toContain('succeeded: deploy v2');
  });

  it('shows progress per wave and target on stderr unless --no-progress', () => {
    const ws = workspace({ one: {}, two: {} });
    const r = cli(ws, ['deploy', '--repo', repo.dir, '--to', 'v1']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/^deploy \S+: release [0-9a-f]{12}, 2 wave\(s\): \[one\] \[two\]$/m);
    expect(r.stderr).toMatch(/^wave 1: one$/m);
    expect(r.stderr).toMatch(/^wave 2: two$/m);
    expect(r.stderr).toMatch(/^ {2}\[two\] apply ok \(\d+(ms|\.\ds|s)\) — 5 file\(s\) written/m);
    expect(r.stderr).not.toContain('\u001b['); // no colour off a TTY
  });

  it('authoritative (--mode): deletes strays and the release deletions, spares protect globs and the state folder', () => {
    const ws = workspace({ dev: {} }, 'protect: ["local/**"]');
    expect(run(ws, ['deploy', '--to', 'v1']).code).toBe(0);
    const dev = join(ws, 't/dev');
    mkdirSync(join(dev, 'local'));
    writeFileSync(join(dev, 'local/settings.json'), 'mine\n');
    writeFileSync(join(dev, 'stray.txt'), 'stray\n');
    mkdirSync(join(dev, 'old/deeper'), { recursive: true });
    writeFileSync(join(dev, 'old/deeper/z.txt'), 'z\n');

    const { r, report } = runJson(ws, ['deploy', '--to', 'v2', '--mode', 'authoritative']);
    expect(r.code).toBe(0);
    expect(report.mode).toBe('authoritative');
    const t = target(report, 'dev');
    expect(t.status).toBe('deployed');
    expect(t.changes.deleted).toEqual(['b.json', 'old/deeper/z.txt', 'stray.txt']);
    expect(t.changes.renamed).toEqual([{ from: 'sub/deep.json', to: 'sub/deeper.json' }]);
    expect(t.changes.kept).toEqual([]);
    // The folder equals the release, plus the protected file; emptied folders are gone.
    expect(snapshot(dev)).toEqual({
      ...releaseTree(V2),
      local: { type: 'dir' },
      'local/settings.json': { type: 'file', content: 'mine\n', exec: false },
    });
    expect(existsSync(join(dev, '.diffship/state.json'))).toBe(true);
    expect(state(ws, 'dev')).toMatchObject({ release: v2, mode: 'authoritative', kept: [] });
  });

  it('--max-deletes stops a deploy that would delete more, before writing anything', () => {
    const ws = workspace({ dev: {} });
    expect(run(ws, ['deploy', '--to', 'v1']).code).toBe(0);
    writeFileSync(join(ws, 't/dev/stray.txt'), 'stray\n');
    const before = snapshot(join(ws, 't/dev'), []);

    const { r, report } = runJson(ws, [
      'deploy',
      '--to',
      'v2',
      '--mode',
      'authoritative',
      '--max-deletes',
      '1',
    ]);
    expect(r.code).toBe(1);
    expect(report.status).toBe('failed');
    const t = target(report, 'dev');
    expect(t.status).toBe('failed');
    expect(t.error).toMatch(/^plan: this deploy would delete 3 file\(s\), more than max-deletes: 1/);
    expect(t.steps.map((s) => s.name)).not.toContain('apply');
    expect(snapshot(join(ws, 't/dev'), [])).toEqual(before);

    // At the limit it goes through.
    const ok = run(ws, ['deploy', '--to', 'v2', '--mode', 'authoritative', '--max-deletes', '3']);
    expect(ok.code).toBe(0);
    expect(existsSync(join(ws, 't/dev/stray.txt'))).toBe(false);
  });

  describe('on-drift, with a file edited by hand on the target', () => {
    let ws: string;
    beforeAll(() => {
      ws = workspace({ fail: {}, skip: {}, over: {} });
      expect(run(ws, ['deploy', '--to', 'v1']).code).toBe(0);
      for (const name of ['fail', 'skip', 'over']) writeFileSync(join(ws, 't', name, 'a.json'), 'by hand\n');
    });

    it('fail (the default): stops before any write and lists the drifted files', () => {
      const before = snapshot(join(ws, 't/fail'), []);
      const { r, report } = runJson(ws, ['deploy', '--to', 'v2', '--targets', 'fail']);
      expect(r.code).toBe(2); // found by the preflight, before anything was written anywhere
      const t = target(report, 'fail');
      expect(t.status).toBe('failed');
      expect(t.changes.drift).toEqual(['a.json']);
      expect(t.error).toContain(`1 file(s) changed on the target since release ${v1.slice(0, 12)}: a.json`);
      expect(t.error).toContain('on-drift: overwrite');
      expect(snapshot(join(ws, 't/fail'), [])).toEqual(before);
      // The summary names the failure too.
      const human = run(ws, ['deploy', '--to', 'v2', '--targets', 'fail']);
      expect(human.code).toBe(2);
      expect(human.stdout).toMatch(/\nfail +1 +failed /);
      expect(human.stdout).toMatch(/\nfail failed: preflight: 1 file\(s\) changed on the target/);
      expect(human.stdout).toContain('failed: deploy v2');
    });

    it('skip: leaves the hand-edited file and ships the rest', () => {
      const { r, report } = runJson(ws, ['deploy', '--to', 'v2', '--targets', 'skip', '--on-drift', 'skip']);
      expect(r.code).toBe(0);
      expect(target(report, 'skip')).toMatchObject({ status: 'deployed', changes: { drift: ['a.json'] } });
      expect(readFileSync(join(ws, 't/skip/a.json'), 'utf8')).toBe('by hand\n');
      expect(readFileSync(join(ws, 't/skip/c.json'), 'utf8')).toBe('c2\n');
      expect(state(ws, 'skip').release).toBe(v2);
    });

    it('overwrite: replaces it, and the old bytes go to the backup (rollback brings them back)', () => {
      const { r, report } = runJson(ws, [
        'deploy',
        '--to',
        'v2',
        '--targets',
        'over',
        '--on-drift',
        'overwrite',
      ]);
      expect(r.code).toBe(0);
      expect(target(report, 'over')).toMatchObject({ status: 'deployed', changes: { drift: ['a.json'] } });
      expect(snapshot(join(ws, 't/over'))['a.json']).toEqual({ type: 'file', content: 'a2\n', exec: false });
      expect(run(ws, ['rollback', '--targets', 'over']).code).toBe(0);
      expect(readFileSync(join(ws, 't/over/a.json'), 'utf8')).toBe('by hand\n');
    });
  });

  it('--targets selects names and label:x, in config order; only those are touched', () => {
    const ws = workspace({
      web1: { labels: ['eu'] },
      web2: { labels: ['us'] },
      db: { labels: ['eu', 'canary'] },
    });
    const { r, report } = runJson(ws, ['deploy', '--to', 'v1', '--targets', 'db,label:us']);
    expect(r.code).toBe(0);
    expect(report.targets.map((t) => [t.name, t.status])).toEqual([
      ['web2', 'deployed'],
      ['db', 'deployed'],
    ]);
    expect(report.waves).toEqual([['web2'], ['db']]);
    expect(existsSync(join(ws, 't/web1'))).toBe(false);
    expect(snapshot(join(ws, 't/db'))).toEqual(releaseTree(V1));

    const labelled = runJson(ws, ['plan', '--to', 'v1', '--targets', 'label:eu']);
    expect(labelled.report.targets.map((t) => t.name)).toEqual(['web1', 'db']);
  });

  it('an unknown target or label is bad usage: exit 2, one line with a hint, nothing touched', () => {
    const ws = workspace({ web1: { labels: ['eu'] }, db: {} });
    const r = run(ws, ['deploy', '--to', 'v1', '--targets', 'web1,dbb']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      'diffship: --targets dbb: no such target — did you mean "db"? (targets: web1, db; use label:X for labels)\n',
    );
    const label = run(ws, ['deploy', '--to', 'v1', '--targets', 'label:us']);
    expect(label.code).toBe(2);
    expect(label.stderr).toBe('diffship: --targets label:us: no target has label "us" (labels: eu)\n');
    expect(existsSync(join(ws, 't'))).toBe(false);
  });

  it('refuses to write through a symlinked folder on the target (E_UNSAFE): target and link destination untouched', () => {
    const ws = workspace({ dev: {} });
    const elsewhere = join(ws, 'elsewhere');
    mkdirSync(elsewhere);
    writeFileSync(join(elsewhere, 'deep.json'), 'not yours\n');
    mkdirSync(join(ws, 't/dev'), { recursive: true });
    symlinkSync('../../elsewhere', join(ws, 't/dev/sub'));
    const target0 = snapshot(join(ws, 't/dev'), []);
    const elsewhere0 = snapshot(elsewhere, []);

    const { r, report } = runJson(ws, ['deploy', '--to', 'v1']);
    expect(r.code).toBe(1);
    const t = target(report, 'dev');
    expect(t.status).toBe('failed');
    expect(t.error).toMatch(/sub is a symlink; diffship never writes through links on a target/);
    expect(snapshot(elsewhere, [])).toEqual(elsewhere0);
    // Only the state folder may have appeared (lock released, no state recorded); no release file landed.
    const after = snapshot(join(ws, 't/dev'));
    expect(after).toEqual({ sub: { type: 'symlink', content: '../../elsewhere' } });
    expect(target0.sub).toEqual(after.sub);
    expect(existsSync(join(ws, 't/dev/.diffship/state.json'))).toBe(false);
    expect(existsSync(join(ws, 't/dev/.diffship/lock.json'))).toBe(false);
  });
});
