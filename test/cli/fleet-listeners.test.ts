/**
 * A fleet wider than Node's default of 10 listeners per signal: every target in flight
 * (and each of its steps) listens to the rollout's cancellation. That is the design, so
 * `diffship deploy` must not print Node's "possible memory leak" warning for it.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli } from '../helpers/cli.js';
import { makeRepo } from '../helpers/repo.js';
import { tempDir } from '../helpers/git.js';

const TARGETS = 20;

describe('a deploy to more targets in flight than 10', () => {
  const repo = makeRepo();
  const work = tempDir('diffship-fleet-listeners-');
  afterAll(() => repo.cleanup());

  it('prints no MaxListenersExceededWarning, and every target gets the release', () => {
    const v1 = repo.commit({ 'wf/a.json': 'a1\n', 'wf/b.json': 'b1\n' });
    const names = Array.from({ length: TARGETS }, (_, i) => `t${i}`);
    writeFileSync(
      join(work, 'diffship.yml'),
      [
        'source: wf',
        "waves: ['100%']",
        'max-parallel: 10',
        'defaults:',
        '  before: { run: "true" }',
        '  verify:',
        '    - command: { run: "true" }',
        'targets:',
        ...names.map((n) => `  - { name: ${n}, path: ./t/${n} }`),
        '',
      ].join('\n'),
    );
    for (const to of [v1, repo.commit({ 'wf/a.json': 'a2\n', 'wf/c.json': 'c2\n' })]) {
      const r = cli(work, ['deploy', '--to', to, '--repo', repo.dir, '--no-progress'], {
        NODE_OPTIONS: '--trace-warnings',
        NODE_NO_WARNINGS: '0', // vitest's workers run with warnings off; the CLI a user runs does not
      });
      expect(r.stderr).not.toMatch(/MaxListenersExceeded|memory leak/);
      expect(r.code, r.stderr).toBe(0);
    }
    for (const n of names) expect(existsSync(join(work, 't', n, 'c.json'))).toBe(true);
  });
});
