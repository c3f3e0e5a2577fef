/**
 * The CLI starts libuv's threadpool with 16 threads (src/threadpool-size.ts) unless the
 * user set UV_THREADPOOL_SIZE, and hooks inherit the user's environment unchanged: a real
 * deploy whose `before` hook records its environment and waits while the test counts the
 * CLI's threads in /proc.
 */
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliStart } from '../helpers/cli.js';
import { makeRepo } from '../helpers/repo.js';
import { git, tempDir } from '../helpers/git.js';

let repo: ReturnType<typeof makeRepo>;
let ws: string;

beforeAll(() => {
  repo = makeRepo();
  repo.commit({ 'wf/a.json': 'a1\n' });
  git(repo.dir, 'tag', 'v1');
  ws = tempDir('diffship-threadpool-');
  writeFileSync(
    join(ws, 'diffship.yml'),
    [
      'source: wf',
      'defaults:',
      '  before:',
      '    run: "printenv UV_THREADPOOL_SIZE > env-{name} || echo unset > env-{name}; touch held-{name}; while [ ! -f go-{name} ]; do sleep 0.05; done"',
      '    timeout: 60s',
      'targets:',
      '  - { name: plain, type: local, path: t/plain }',
      '  - { name: user, type: local, path: t/user }',
      '',
    ].join('\n'),
  );
});
afterAll(() => {
  for (const name of ['plain', 'user']) writeFileSync(join(ws, `go-${name}`), '');
  repo.cleanup();
  rmSync(ws, { recursive: true, force: true });
});

/** Deploy to `name`; while its hook waits, count the CLI's threads. */
async function deployCountingThreads(name: string, env: NodeJS.ProcessEnv): Promise<number> {
  const run = cliStart(
    ws,
    ['deploy', '--to', 'v1', '--repo', repo.dir, '--targets', name, '--no-progress'],
    env,
  );
  const deadline = Date.now() + 30_000;
  while (!existsSync(join(ws, `held-${name}`)) && run.child.exitCode === null && Date.now() < deadline)
    await new Promise((resolve) => setTimeout(resolve, 25));
  const threads = readdirSync(`/proc/${run.child.pid}/task`).length;
  writeFileSync(join(ws, `go-${name}`), '');
  const r = await run.done;
  expect(r.code, r.stdout + r.stderr).toBe(0);
  return threads;
}

describe('the CLI threadpool', () => {
  it('has 16 threads unless the user sized it, and hooks do not see the variable', async () => {
    // undefined: spawn leaves the variable out even when the test's own environment has it.
    const plain = await deployCountingThreads('plain', { UV_THREADPOOL_SIZE: undefined });
    const user = await deployCountingThreads('user', { UV_THREADPOOL_SIZE: '2' });
    // Everything else (V8's workers, the main thread) is the same in both runs.
    expect(plain - user).toBe(16 - 2);
    expect(readFileSync(join(ws, 'env-plain'), 'utf8')).toBe('unset\n');
    expect(readFileSync(join(ws, 'env-user'), 'utf8')).toBe('2\n');
  });
});
