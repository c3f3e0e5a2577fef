/**
 * A rollback is verified (issue 11): after an automatic rollback and after
 * `diffship rollback`, activate runs and then verify, against the restored
 * release (`{release}` = its SHA). `rolled-back` only when both pass; else
 * `rollback-unhealthy`, exit 1 and a loud message. Real CLI, real repo, real folders.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Report } from '../../src/report/types.js';
import { cli } from '../helpers/cli.js';
import { makeRepo } from '../helpers/repo.js';
import { git, tempDir } from '../helpers/git.js';

let repo: ReturnType<typeof makeRepo>;
let v1: string;
let v2: string;
const dirs: string[] = [];

beforeAll(() => {
  repo = makeRepo();
  v1 = repo.commit({ 'app/health.txt': 'good\n', 'app/a.json': '1\n' });
  git(repo.dir, 'tag', 'v1');
  v2 = repo.commit({ 'app/health.txt': 'bad\n', 'app/a.json': '2\n' });
  git(repo.dir, 'tag', 'v2');
});
afterAll(() => {
  repo.cleanup();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/**
 * A workspace whose activate hook logs `{release}` and fails while `broken` exists, and
 * whose verify check logs `{release}` and passes only when the target says "good" (or `lenient` exists).
 */
function workspace(): string {
  const ws = tempDir('diffship-rbv-');
  dirs.push(ws);
  writeFileSync(
    join(ws, 'diffship.yml'),
    [
      'source: app',
      'defaults:',
      '  activate:',
      '    run: echo "activate {release}" >> events.log && test ! -e broken',
      '  verify:',
      '    - command:',
      '        run: echo "verify {release}" >> events.log && (grep -q good t/{name}/health.txt || test -e lenient)',
      '        timeout: 1s',
      'targets:',
      '  - { name: web, type: local, path: t/web }',
      '',
    ].join('\n'),
  );
  return ws;
}

function run(ws: string, args: string[]): { code: number | null; report: Report; stderr: string } {
  const [command, ...rest] = args;
  const r = cli(ws, [command!, '--repo', repo.dir, '--no-progress', '--json', ...rest]);
  return { code: r.code, report: JSON.parse(r.stdout) as Report, stderr: r.stderr };
}
const events = (ws: string) => readFileSync(join(ws, 'events.log'), 'utf8').trim().split('\n');
const health = (ws: string) => readFileSync(join(ws, 't/web/health.txt'), 'utf8');

describe('a rollback is verified', () => {
  it('automatic rollback: activate then verify run against the restored release; rolled-back when they pass', () => {
    const ws = workspace();
    expect(run(ws, ['deploy', '--to', 'v1']).code).toBe(0);
    rmSync(join(ws, 'events.log'));
    const r = run(ws, ['deploy', '--to', 'v2']);
    expect(r.code).toBe(1);
    const web = r.report.targets[0]!;
    expect(web.status).toBe('rolled-back');
    expect(health(ws)).toBe('good\n');
    // The deploy's activate + verify on v2, then the rollback's on v1.
    expect(events(ws)).toEqual([`activate ${v2}`, `verify ${v2}`, `activate ${v1}`, `verify ${v1}`]);
    expect(web.steps.map((s) => `${s.name}:${s.status}`)).toEqual([
      'lock:ok',
      'plan:ok',
      'apply:ok',
      'activate:ok',
      'verify:failed',
      'rollback:ok',
      'activate:ok',
      'verify:ok',
      'unlock:ok',
    ]);
  });

  it('automatic rollback with a broken restart: rollback-unhealthy, exit 1, a loud message', () => {
    const ws = workspace();
    expect(run(ws, ['deploy', '--to', 'v1']).code).toBe(0);
    writeFileSync(join(ws, 'broken'), '');
    const r = run(ws, ['deploy', '--to', 'v2']);
    expect(r.code).toBe(1);
    const web = r.report.targets[0]!;
    expect(web.status).toBe('rollback-unhealthy');
    expect(r.report.status).toBe('failed');
    expect(web.error).toMatch(
      /^ROLLBACK UNHEALTHY: web was restored to release [0-9a-f]{12} but is not healthy on it \(activate: /,
    );
    expect(r.stderr).toMatch(/ROLLBACK UNHEALTHY: web/);
    // The files are back all the same.
    expect(health(ws)).toBe('good\n');
  });

  it('`diffship rollback`: activate and verify get the restored SHA as {release}; a broken restart is rollback-unhealthy', () => {
    const ws = workspace();
    expect(run(ws, ['deploy', '--to', 'v1']).code).toBe(0);
    writeFileSync(join(ws, 'lenient'), '');
    expect(run(ws, ['deploy', '--to', 'v2']).code).toBe(0);
    rmSync(join(ws, 'lenient'));
    rmSync(join(ws, 'events.log'));

    const back = run(ws, ['rollback']);
    expect(back.code).toBe(0);
    expect(back.report.targets[0]).toMatchObject({ status: 'rolled-back', to: v1 });
    expect(events(ws)).toEqual([`activate ${v1}`, `verify ${v1}`]);

    writeFileSync(join(ws, 'lenient'), '');
    expect(run(ws, ['deploy', '--to', 'v2']).code).toBe(0);
    writeFileSync(join(ws, 'broken'), '');
    const bad = run(ws, ['rollback']);
    expect(bad.code).toBe(1);
    expect(bad.report.targets[0]!.status).toBe('rollback-unhealthy');
    expect(bad.stderr).toMatch(/ROLLBACK UNHEALTHY: web was restored to release/);
    expect(health(ws)).toBe('good\n');
  });
});
