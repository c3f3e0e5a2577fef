/**
 * A selection that matches nothing must not pass silently (issue 11), through
 * the real CLI on a real repository and real target folders: a `source` typo
 * and an `include` typo stop plan and deploy before anything is written (exit 2,
 * nothing recorded), `allow-empty: true` lets an empty selection through, `diff`
 * warns, and a changed selection makes the next deploy compare the whole new
 * selection with the target.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, type CliResult } from '../helpers/cli.js';
import { makeRepo, snapshot } from '../helpers/repo.js';
import { git, tempDir } from '../helpers/git.js';

let repo: ReturnType<typeof makeRepo>;
let v1: string;
const dirs: string[] = [];

beforeAll(() => {
  repo = makeRepo();
  v1 = repo.commit({
    'integrations/orders.json': 'orders\n',
    'integrations/billing.json': 'billing\n',
    'integrations/notes.md': 'notes\n',
    'README.md': 'readme\n',
  });
  git(repo.dir, 'tag', 'v1');
});
afterAll(() => {
  repo.cleanup();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function workspace(config: string): string {
  const ws = tempDir('diffship-sel-');
  dirs.push(ws);
  writeFileSync(join(ws, 'diffship.yml'), `${config}\ntargets:\n  - { name: a, type: local, path: t/a }\n`);
  return ws;
}
const run = (ws: string, args: string[]): CliResult => {
  const [command, ...rest] = args;
  return cli(ws, [command!, '--repo', repo.dir, '--no-progress', ...rest]);
};
const state = (ws: string) => join(ws, 't/a/.diffship/state.json');

describe('a selection that matches nothing', () => {
  it('a source missing from the release is an error naming it and the nearest folder; nothing is written', () => {
    const ws = workspace('source: integrationz');
    for (const command of ['plan', 'deploy']) {
      const r = run(ws, [command, '--to', 'v1']);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toBe(
        `diffship: source: folder "integrationz" does not exist in release ${v1.slice(0, 12)} — did you mean "integrations"? (set source to a folder of the repository)\n`,
      );
    }
    expect(existsSync(state(ws))).toBe(false);
    expect(existsSync(join(ws, 't/a'))).toBe(false);
  });

  it('an include that matches no file is an error unless allow-empty: true', () => {
    const ws = workspace('source: integrations\ninclude: ["*.jsn"]');
    const r = run(ws, ['deploy', '--to', 'v1']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /^diffship: the selection \(source "integrations", include \["\*\.jsn"\], and \.diffshipignore\) matches no file in release [0-9a-f]{12} — fix source\/include\/exclude, or set allow-empty: true/,
    );
    expect(existsSync(state(ws))).toBe(false);

    writeFileSync(
      join(ws, 'diffship.yml'),
      readFileSync(join(ws, 'diffship.yml'), 'utf8').replace('include', 'allow-empty: true\ninclude'),
    );
    const allowed = run(ws, ['deploy', '--to', 'v1']);
    expect(allowed.code, allowed.stderr).toBe(0);
    expect(JSON.parse(readFileSync(state(ws), 'utf8'))).toMatchObject({ release: v1 });
  });

  it('diff warns on stderr for the same cases', () => {
    const typo = cli(repo.dir, ['diff', '--to', 'v1', '--source', 'integrationz']);
    expect(typo.code).toBe(0);
    expect(typo.stderr).toContain(
      'diffship: warning: source: folder "integrationz" does not exist in release',
    );
    expect(typo.stderr).toContain('did you mean "integrations"?');
    const empty = cli(repo.dir, ['diff', '--to', 'v1', '--source', 'integrations', '--include', '*.jsn']);
    expect(empty.stderr).toContain(
      'diffship: warning: the selection (source "integrations", include ["*.jsn"]',
    );
    const fine = cli(repo.dir, ['diff', '--to', 'v1', '--source', 'integrations']);
    expect(fine.stderr).toBe('');
  });
});

describe('the recorded selection', () => {
  it('is recorded in the state; a changed selection compares the whole new selection with the target', () => {
    const ws = workspace('source: integrations\ninclude: ["orders.json"]');
    expect(run(ws, ['deploy', '--to', 'v1']).code).toBe(0);
    expect(JSON.parse(readFileSync(state(ws), 'utf8')).selection).toEqual({
      source: 'integrations',
      include: ['orders.json'],
      exclude: [],
      ignore: null,
    });
    expect(Object.keys(snapshot(join(ws, 't/a')))).toEqual(['orders.json']);

    // The include is widened; the release is the same. Before, this was "unchanged": nothing shipped.
    writeFileSync(
      join(ws, 'diffship.yml'),
      'source: integrations\ninclude: ["*.json"]\ntargets:\n  - { name: a, type: local, path: t/a }\n',
    );
    const plan = run(ws, ['plan', '--to', 'v1', '--json']);
    expect(plan.code, plan.stderr).toBe(0);
    const planned = JSON.parse(plan.stdout).targets[0];
    // Compared from the manifest (what was shipped): orders.json is there unchanged, billing.json is new.
    expect(planned.changes.added).toEqual(['billing.json']);
    expect(planned.steps.find((s: { name: string }) => s.name === 'plan').detail).toMatch(
      /^1 write\(s\).*selection changed: the whole selection was compared/,
    );
    const r = run(ws, ['deploy', '--to', 'v1']);
    expect(r.code, r.stderr).toBe(0);
    expect(Object.keys(snapshot(join(ws, 't/a'))).sort()).toEqual(['billing.json', 'orders.json']);
    expect(JSON.parse(readFileSync(state(ws), 'utf8')).selection.include).toEqual(['*.json']);
    // And then it is settled: the same selection again is unchanged.
    expect(run(ws, ['deploy', '--to', 'v1', '--json']).stdout).toContain('"status":"unchanged"');
  });
});
