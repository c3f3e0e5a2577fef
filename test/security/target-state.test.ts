/**
 * Issue 10, target side: what a target's state folder says is data, never code.
 * Each test plants what an attacker who can write the target folder would plant,
 * then runs the real CLI and checks that nothing ran, nothing changed, and the
 * refusal names the file and the fix.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Report } from '../../src/report/types.js';
import { cli } from '../helpers/cli.js';
import { makeRepo, snapshot } from '../helpers/repo.js';
import { tempDir } from '../helpers/git.js';

let repo: ReturnType<typeof makeRepo>;
let v1: string;
let v2: string;
let ws: string;
const target = () => join(ws, 't');
const pwned = () => join(ws, 'PWNED');
const stateFile = () => join(target(), '.diffship/state.json');

beforeAll(() => {
  repo = makeRepo();
  v1 = repo.commit({ 'wf/a.json': 'a1\n' }, 'one');
  v2 = repo.commit({ 'wf/a.json': 'a2\n' }, 'two');
});
afterAll(() => repo.cleanup());

beforeEach(() => {
  if (ws) rmSync(ws, { recursive: true, force: true });
  ws = tempDir('diffship-sec-state-');
  // A hook that pastes {previous} into a shell, and one that evals the environment variable.
  writeFileSync(
    join(ws, 'diffship.yml'),
    [
      'source: wf',
      'targets:',
      '  - name: main',
      '    type: local',
      '    path: t',
      '    before:',
      '      run: echo prev={previous} > prev.txt; eval "echo env=$DIFFSHIP_PREVIOUS_RELEASE" >> prev.txt',
      '',
    ].join('\n'),
  );
});

const deploy = (to: string) => {
  const r = cli(ws, ['deploy', '--repo', repo.dir, '--no-progress', '--json', '--to', to]);
  return { ...r, report: JSON.parse(r.stdout) as Report };
};

/** Deploy v1, then let `edit` rewrite the recorded state as an attacker would. */
function plant(edit: (state: Record<string, unknown>) => void): void {
  rmSync(target(), { recursive: true, force: true });
  expect(deploy(v1).code).toBe(0);
  const state = JSON.parse(readFileSync(stateFile(), 'utf8')) as Record<string, unknown>;
  edit(state);
  writeFileSync(stateFile(), JSON.stringify(state));
  rmSync(join(ws, 'prev.txt'), { force: true });
}

function expectRefused(r: ReturnType<typeof deploy>, field: string): void {
  expect(r.code).toBe(2);
  const error = r.report.targets[0]!.error ?? '';
  expect(error).toContain('.diffship/state.json');
  expect(error).toContain(field);
  expect(error).toContain('diffship status');
  expect(error).toContain('remove the state folder');
  expect(existsSync(pwned())).toBe(false);
  expect(existsSync(join(ws, 'prev.txt'))).toBe(false); // the hook never ran
}

describe('state.json is validated on read', () => {
  it('a revision expression as release never reaches a hook shell ({previous}, DIFFSHIP_PREVIOUS_RELEASE)', () => {
    plant((s) => (s.release = `${v1}^{/.|$(touch ${pwned()})}`));
    const before = snapshot(target());
    const r = deploy(v2);
    expectRefused(r, 'release');
    expect(snapshot(target())).toEqual(before);
  });

  it('refuses a revision expression as previousRelease, a short id, an id of the wrong length', () => {
    plant((s) => (s.previousRelease = `HEAD~1$(touch ${pwned()})`));
    expectRefused(deploy(v2), 'previousRelease');
    plant((s) => (s.release = v1.slice(0, 12)));
    expectRefused(deploy(v2), 'release');
    plant((s) => (s.release = v1 + v1.slice(0, 24))); // 64 hex digits in a SHA-1 repository
    expectRefused(deploy(v2), 'release');
  });

  it('refuses wrong types and unsafe values in the other fields', () => {
    plant((s) => (s.kept = [{ path: '../../etc/passwd', blob: v1 }]));
    expectRefused(deploy(v2), 'kept[0].path');
    plant((s) => (s.deployId = '../../x'));
    expectRefused(deploy(v2), 'deployId');
    plant((s) => (s.mode = 'yolo'));
    expectRefused(deploy(v2), 'mode');
    plant((s) => (s.version = '1'));
    expectRefused(deploy(v2), 'version');
  });

  it('hooks and the report see the commit git resolved, as full hex', () => {
    expect(deploy(v1).code).toBe(0);
    const r = deploy(v2);
    expect(r.code).toBe(0);
    expect(r.report.targets[0]!.from).toBe(v1);
    expect(readFileSync(join(ws, 'prev.txt'), 'utf8')).toBe(`prev=${v1}\nenv=${v1}\n`);
  });
});
