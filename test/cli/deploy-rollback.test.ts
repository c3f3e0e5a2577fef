/**
 * `diffship rollback` through the real CLI: a target goes back byte for byte
 * (contents, modes, symlinks, strays an authoritative deploy removed, files the
 * deploy added removed) with its recorded release; no backup is a clear error.
 */
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Report } from '../../src/report/types.js';
import { cli, type CliResult } from '../helpers/cli.js';
import { makeRepo, snapshot } from '../helpers/repo.js';
import { git, tempDir } from '../helpers/git.js';

let repo: ReturnType<typeof makeRepo>;
let v1: string;
let v2: string;
let ws: string;

beforeAll(() => {
  repo = makeRepo();
  const long = Array.from({ length: 40 }, (_, i) => `row ${i}\n`).join('');
  v1 = repo.commit({
    'wf/a.json': 'a1\n',
    'wf/b.json': 'b1\n',
    'wf/run.sh': { content: '#!/bin/sh\necho 1\n', mode: 0o755 },
    'wf/sub/deep.json': long,
    'wf/link': { link: 'a.json' },
  });
  git(repo.dir, 'tag', 'v1');
  v2 = repo.commit({
    'wf/a.json': 'a2\n',
    'wf/c.json': 'c2\n',
    'wf/run.sh': { content: '#!/bin/sh\necho 1\n', mode: 0o644 },
    'wf/sub/renamed.json': long,
    'wf/link': { link: 'c.json' },
    'wf/new/deep/x.json': 'x2\n',
  });
  git(repo.dir, 'tag', 'v2');
  repo.commit({ 'wf/a.json': 'a3\n' });
  git(repo.dir, 'tag', 'v3');
  ws = tempDir('diffship-rollback-');
  writeFileSync(
    join(ws, 'diffship.yml'),
    [
      'source: wf',
      'targets:',
      '  - { name: main, type: local, path: t/main }',
      '  - { name: never, type: local, path: t/never }',
      '  - { name: additive, type: local, path: t/additive }',
      '',
    ].join('\n'),
  );
});
afterAll(() => {
  repo.cleanup();
  rmSync(ws, { recursive: true, force: true });
});

const run = (args: string[]): CliResult => {
  const [command, ...rest] = args;
  return cli(ws, [command!, '--repo', repo.dir, '--no-progress', ...rest]);
};
const runJson = (args: string[]): { r: CliResult; report: Report } => {
  const r = run([...args, '--json']);
  return { r, report: JSON.parse(r.stdout) as Report };
};
const stateText = (name: string) => readFileSync(join(ws, 't', name, '.diffship/state.json'), 'utf8');
const permissions = (path: string) => statSync(path).mode & 0o777;

describe('diffship rollback', () => {
  it('undoes an authoritative deploy byte for byte: contents, modes, symlinks, strays, added files; state back', async () => {
    const main = join(ws, 't/main');
    expect(run(['deploy', '--to', 'v1', '--targets', 'main']).code).toBe(0);
    // Things the release does not know: an authoritative deploy deletes them, the rollback restores them.
    writeFileSync(join(main, 'stray.txt'), 'stray\n', { mode: 0o600 });
    const files1 = snapshot(main);
    const modes1 = { run: permissions(join(main, 'run.sh')), stray: permissions(join(main, 'stray.txt')) };
    const state1 = stateText('main');
    expect(JSON.parse(state1)).toMatchObject({ release: v1, previousRelease: null });

    const deployed = runJson(['deploy', '--to', 'v2', '--targets', 'main', '--mode', 'authoritative']);
    expect(deployed.r.code).toBe(0);
    expect(deployed.report.targets[0]).toMatchObject({ status: 'deployed', from: v1, to: v2 });
    expect(deployed.report.targets[0]!.changes.deleted).toEqual(['b.json', 'stray.txt']);
    expect(existsSync(join(main, 'new/deep/x.json'))).toBe(true);
    expect(existsSync(join(main, 'stray.txt'))).toBe(false);
    expect(permissions(join(main, 'run.sh'))).toBe(0o644);

    const before = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 20));
    const { r, report } = runJson(['rollback', '--targets', 'main']);
    expect(r.code).toBe(0);
    expect(report).toMatchObject({ command: 'rollback', status: 'succeeded' });
    expect(report.targets).toHaveLength(1);
    expect(report.targets[0]).toMatchObject({ name: 'main', status: 'rolled-back', to: v1, error: null });
    expect(report.targets[0]!.steps.map((s) => [s.name, s.status])).toEqual([
      ['lock', 'ok'],
      ['rollback', 'ok'],
      ['unlock', 'ok'],
    ]);

    // Byte for byte, the files the deploy added (and their folders) gone, permissions exact.
    expect(snapshot(main)).toEqual(files1);
    expect(existsSync(join(main, 'new'))).toBe(false);
    expect({ run: permissions(join(main, 'run.sh')), stray: permissions(join(main, 'stray.txt')) }).toEqual(
      modes1,
    );
    expect(stateText('main')).toBe(state1);
    // Restored files look new, so hosts that import on arrival pick them up.
    expect(statSync(join(main, 'a.json')).mtimeMs).toBeGreaterThanOrEqual(before);

    // status agrees: v1 recorded, no drift.
    const status = JSON.parse(
      cli(ws, ['status', '--repo', repo.dir, '--targets', 'main', '--json']).stdout,
    ) as {
      targets: Array<{ release: string; drift: string[] }>;
    };
    expect(status.targets[0]).toMatchObject({ release: v1, drift: [] });
  });

  it('goes back one deploy at a time, down to nothing, then says there is no backup', () => {
    const t = join(ws, 't/additive');
    expect(run(['deploy', '--to', 'v1', '--targets', 'additive']).code).toBe(0);
    const files1 = snapshot(t);
    expect(run(['deploy', '--to', 'v2', '--targets', 'additive']).code).toBe(0);
    const files2 = snapshot(t);
    const state2 = stateText('additive');
    expect(run(['deploy', '--to', 'v3', '--targets', 'additive']).code).toBe(0);

    expect(run(['rollback', '--targets', 'additive']).code).toBe(0);
    expect(snapshot(t)).toEqual(files2);
    expect(stateText('additive')).toBe(state2);
    expect(run(['rollback', '--targets', 'additive']).code).toBe(0);
    expect(snapshot(t)).toEqual(files1);
    expect(JSON.parse(stateText('additive'))).toMatchObject({ release: v1 });
    // Undoing the first deploy removes what it wrote and its record.
    expect(run(['rollback', '--targets', 'additive']).code).toBe(0);
    expect(snapshot(t)).toEqual({});
    expect(existsSync(join(t, '.diffship/state.json'))).toBe(false);

    const { r, report } = runJson(['rollback', '--targets', 'additive']);
    expect(r.code).toBe(1);
    expect(report.status).toBe('failed');
    expect(report.targets[0]!.error).toBe(
      `rollback: ${t}: no backup to roll back to — diffship keeps the last 3 deploys`,
    );
    const human = run(['rollback', '--targets', 'additive']);
    expect(human.code).toBe(1);
    expect(human.stdout).toMatch(/\nadditive +1 +failed /);
    // The summary wraps long lines (at the width of the terminal it assumes), a long target path too.
    expect(human.stdout).toMatch(/\nadditive failed: rollback: [^]*?: no backup\s+to roll back to/);
    expect(snapshot(t)).toEqual({});
  });

  it('on a target never deployed (no folder): nothing to roll back, exit 2, and no folder is created', () => {
    const { r, report } = runJson(['rollback', '--targets', 'never']);
    expect(r.code).toBe(2);
    expect(report.targets[0]!.error).toBe(
      `lock: ${join(ws, 't/never')}: nothing to roll back — the target folder does not exist`,
    );
    expect(existsSync(join(ws, 't/never'))).toBe(false);
  });
});
