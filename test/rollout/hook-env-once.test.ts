/**
 * A rollout reads and filters this process's environment once for all its hooks and
 * checks (run-local.ts sharedEnvPolicy): a fleet no longer pays ~0.1–0.2 ms per command
 * enumerating process.env. So a variable changed while the rollout runs reaches its
 * commands from the next rollout on, and the filtering (no DIFFSHIP_* of the caller) still
 * applies to the shared copy.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { deploy, loadConfig } from '../../src/index.js';
import { makeRepo } from '../helpers/repo.js';
import { git, tempDir } from '../helpers/git.js';

const ws = tempDir('diffship-hook-env-once-');
const repo = makeRepo();
afterAll(() => {
  delete process.env.FLEET_ENV_PROBE;
  delete process.env.DIFFSHIP_TEST_OUTER;
  repo.cleanup();
  rmSync(ws, { recursive: true, force: true });
});

const probe = (name: string) => readFileSync(join(ws, `env-${name}`), 'utf8');

describe('hook environment of a rollout', () => {
  it("is read when the rollout runs its first command, for every target, without the caller's DIFFSHIP_* variables", async () => {
    repo.commit({ 'wf/a.json': 'a1\n' });
    git(repo.dir, 'tag', 'v1');
    repo.commit({ 'wf/a.json': 'a2\n' });
    git(repo.dir, 'tag', 'v2');
    writeFileSync(
      join(ws, 'diffship.yml'),
      [
        'source: wf',
        'max-parallel: 1',
        'defaults:',
        '  before:',
        // printenv: the values set, one a line (`${…}` would be the config's own interpolation).
        '    run: "printenv FLEET_ENV_PROBE DIFFSHIP_TEST_OUTER > env-{name}; true"',
        'targets:',
        '  - { name: a, path: t/a }',
        '  - { name: b, path: t/b }',
        '',
      ].join('\n'),
    );
    const config = await loadConfig(join(ws, 'diffship.yml'));
    process.env.FLEET_ENV_PROBE = 'early';
    // The caller's own DIFFSHIP_* variables never reach a command, shared copy or not.
    process.env.DIFFSHIP_TEST_OUTER = 'stale';
    const first = await deploy({
      config,
      repo: repo.dir,
      to: 'v1',
      // Changed after target a ran its hook, before target b runs its own.
      onEvent: (e) => {
        if (e.type === 'target-end') process.env.FLEET_ENV_PROBE = 'late';
      },
    });
    expect(first.status).toBe('succeeded');
    expect(probe('a')).toBe('early\n');
    expect(probe('b')).toBe('early\n');

    const second = await deploy({ config, repo: repo.dir, to: 'v2' });
    expect(second.status).toBe('succeeded');
    expect(probe('a')).toBe('late\n');
    expect(probe('b')).toBe('late\n');
  });
});
