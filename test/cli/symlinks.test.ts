/**
 * Release symlinks pointing outside the release (`../../etc/passwd`,
 * `/etc/shadow`): shipped as git holds them with a warning in the plan, the
 * log and the report; `symlinks: refuse-outside` stops the release (exit 2)
 * before any target is touched.
 */
import { existsSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Report } from '../../src/report/types.js';
import { leavesRelease } from '../../src/plan/outside-links.js';
import { cli } from '../helpers/cli.js';
import { makeRepo } from '../helpers/repo.js';
import { tempDir } from '../helpers/git.js';

let repo: ReturnType<typeof makeRepo>;
let ws: string;

function config(name: string, extra: string[]): void {
  writeFileSync(
    join(ws, name),
    [...extra, 'targets:', '  - { name: web, type: local, path: t/web }', ''].join('\n'),
  );
}

beforeAll(() => {
  repo = makeRepo();
  repo.commit({
    'app/conf.json': '{}',
    'app/passwd': { link: '../../etc/passwd' },
    shadow: { link: '/etc/shadow' },
    'app/inside': { link: '../shadow' },
  });
  ws = tempDir('diffship-symlinks-');
  config('allow.yml', []);
  config('refuse.yml', ['symlinks: refuse-outside']);
});
afterAll(() => {
  repo.cleanup();
  rmSync(ws, { recursive: true, force: true });
});

describe('symlinks pointing outside the release', () => {
  it('the rule: absolute, or climbing above the release root', () => {
    expect(leavesRelease('app/passwd', '../../etc/passwd')).toBe(true);
    expect(leavesRelease('shadow', '/etc/shadow')).toBe(true);
    expect(leavesRelease('app/inside', '../shadow')).toBe(false);
    expect(leavesRelease('a/b/c', '../../x')).toBe(false);
    expect(leavesRelease('a/b/c', '../../../x')).toBe(true);
    expect(leavesRelease('top', '..')).toBe(true);
    expect(leavesRelease('a/top', 'x/../../..')).toBe(true);
  });

  it('symlinks: refuse-outside stops the release before anything is written (exit 2), naming the links', () => {
    const plan = cli(ws, ['plan', '-c', 'refuse.yml', '--repo', repo.dir, '--no-progress']);
    expect(plan.code).toBe(2);
    const r = cli(ws, ['deploy', '-c', 'refuse.yml', '--repo', repo.dir, '--no-progress']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /2 symlink\(s\) of the release point outside it: app\/passwd -> \.\.\/\.\.\/etc\/passwd, shadow -> \/etc\/shadow/,
    );
    expect(r.stderr).toMatch(/refused by symlinks: refuse-outside; nothing was written/);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(existsSync(join(ws, 't/web'))).toBe(false);
  });

  it('by default they are shipped as git holds them, with a warning in the plan, the log and the report', () => {
    const plan = cli(ws, ['plan', '-c', 'allow.yml', '--repo', repo.dir, '--no-progress']);
    expect(plan.code).toBe(0);
    expect(plan.stderr).toMatch(/2 symlink\(s\) of the release point outside it/);
    const report = join(ws, 'report.json');
    const r = cli(ws, ['deploy', '-c', 'allow.yml', '--repo', repo.dir, '--no-progress', '--report', report]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/app\/passwd -> \.\.\/\.\.\/etc\/passwd.*shipped as git holds them/);
    expect(readlinkSync(join(ws, 't/web/app/passwd'))).toBe('../../etc/passwd');
    expect(readlinkSync(join(ws, 't/web/shadow'))).toBe('/etc/shadow');
    const json = JSON.parse(readFileSync(report, 'utf8')) as Report;
    const planStep = json.targets[0]!.steps.find((s) => s.name === 'plan')!;
    expect(planStep.detail).toMatch(/warning: 2 symlink\(s\) of the release point outside it/);
  });
});
