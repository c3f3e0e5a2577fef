/**
 * One drift story (issue 11, docs/drift.md), through the real CLI on a real
 * repository and target folder: a hand-edited file outside the change set.
 * `status` reports it and says which scope plan and deploy use; with the default
 * `drift-scope: changes` they check only the change set and say so; with `all`
 * they check every recorded file, `fail` stops before writing and `overwrite`
 * restores it (backed up: a rollback brings the hand edit back).
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Report } from '../../src/report/types.js';
import { cli, type CliResult } from '../helpers/cli.js';
import { makeRepo } from '../helpers/repo.js';
import { git, tempDir } from '../helpers/git.js';

let repo: ReturnType<typeof makeRepo>;
let ws: string;

beforeAll(() => {
  repo = makeRepo();
  repo.commit({ 'wf/a.json': 'a1\n', 'wf/b.json': 'b1\n', 'wf/c.json': 'c1\n' });
  git(repo.dir, 'tag', 'v1');
  repo.commit({ 'wf/a.json': 'a2\n', 'wf/b.json': 'b1\n', 'wf/c.json': 'c1\n' });
  git(repo.dir, 'tag', 'v2');
  ws = tempDir('diffship-drift-');
  writeFileSync(
    join(ws, 'diffship.yml'),
    'source: wf\ntargets:\n  - { name: t1, type: local, path: t/t1 }\n',
  );
});
afterAll(() => {
  repo.cleanup();
  rmSync(ws, { recursive: true, force: true });
});

const run = (args: string[]): CliResult => {
  const [command, ...rest] = args;
  const progress = command === 'status' ? [] : ['--no-progress'];
  return cli(ws, [command!, '--repo', repo.dir, ...progress, ...rest]);
};
const json = (args: string[]) => {
  const r = run([...args, '--json']);
  return { code: r.code, report: JSON.parse(r.stdout) as Report, stderr: r.stderr };
};
const file = (name: string) => readFileSync(join(ws, 't/t1', name), 'utf8');

describe('one drift story', () => {
  it('status, plan and deploy agree on a hand-edited file outside the change set', () => {
    expect(run(['deploy', '--to', 'v1']).code).toBe(0);
    writeFileSync(join(ws, 't/t1/b.json'), 'edited by hand\n');

    // status: every recorded file, and which of them a deploy would act on.
    const status = run(['status']);
    expect(status.stdout).toContain('drift:    1 file(s): b.json');
    expect(status.stdout).toContain(
      'drift-scope: changes — plan and deploy check only the files they change and leave the others as they are',
    );
    expect(JSON.parse(run(['status', '--json']).stdout).targets[0]).toMatchObject({
      drift: ['b.json'],
      driftScope: 'changes',
    });

    // plan (changes): the change set is a.json only, and the report says so.
    const plan = json(['plan', '--to', 'v2']);
    expect(plan.code).toBe(0);
    const t = plan.report.targets[0]!;
    expect(t.driftChecked).toEqual({ scope: 'changes', files: 1 });
    expect(t.changes.drift).toEqual([]);
    expect(t.steps.find((s) => s.name === 'plan')!.detail).toBe(
      '1 write(s), 0 delete(s), 0 kept, 0 drifted (drift checked on 1 file in the change set)',
    );

    // drift-scope: all with on-drift: fail stops before writing anything (found by the preflight: exit 2).
    const all = json(['deploy', '--to', 'v2', '--drift-scope', 'all']);
    expect(all.code).toBe(2);
    expect(all.report.targets[0]).toMatchObject({
      status: 'failed',
      changes: { drift: ['b.json'] },
      driftChecked: { scope: 'all', files: 3 },
    });
    expect(all.report.targets[0]!.error).toMatch(
      /^preflight: 1 file\(s\) changed on the target since release .*: b\.json/,
    );
    expect(file('a.json')).toBe('a1\n');
    expect(file('b.json')).toBe('edited by hand\n');

    // overwrite restores it to the release, backed up like any write.
    const fixed = json(['deploy', '--to', 'v2', '--drift-scope', 'all', '--on-drift', 'overwrite']);
    expect(fixed.code, fixed.stderr).toBe(0);
    expect(fixed.report.targets[0]).toMatchObject({ status: 'deployed', changes: { drift: ['b.json'] } });
    expect(file('a.json')).toBe('a2\n');
    expect(file('b.json')).toBe('b1\n');
    expect(run(['status']).stdout).toContain('drift:    none');

    expect(run(['rollback']).code).toBe(0);
    expect(file('b.json')).toBe('edited by hand\n');
    expect(file('a.json')).toBe('a1\n');
  });

  it('--drift-scope refuses an unknown value', () => {
    const r = run(['plan', '--to', 'v2', '--drift-scope', 'everything']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('diffship: --drift-scope: expected changes or all (got "everything")\n');
  });
});
