/**
 * The CLI starts libuv's threadpool with 16 threads (bin/diffship.cjs, src/threadpool-size.ts)
 * unless the user set UV_THREADPOOL_SIZE, and hooks inherit the user's environment unchanged:
 * a real deploy whose `before` hook records its environment and waits while the test counts
 * the CLI's threads in /proc. Run with the Node the tests run on and, where the machine has
 * another (a system Node 20, which starts the pool while it loads an ES module entry), with
 * that one too.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, cliStart } from '../helpers/cli.js';
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
      ...['plain', 'user', 'plain20', 'user20'].map((n) => `  - { name: ${n}, type: local, path: t/${n} }`),
      '',
    ].join('\n'),
  );
});
afterAll(() => {
  for (const name of ['plain', 'user', 'plain20', 'user20']) writeFileSync(join(ws, `go-${name}`), '');
  repo.cleanup();
  rmSync(ws, { recursive: true, force: true });
});

/** Deploy to `name`; while its hook waits, count the CLI's threads. */
async function deployCountingThreads(name: string, env: NodeJS.ProcessEnv, node?: string): Promise<number> {
  const run = cliStart(
    ws,
    ['deploy', '--to', 'v1', '--repo', repo.dir, '--targets', name, '--no-progress'],
    env,
    node,
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

  it('is the command package.json names', () => {
    const pkg = JSON.parse(readFileSync(join(BIN, '../../package.json'), 'utf8')) as {
      bin: { diffship: string };
    };
    expect(join(BIN, '../..', pkg.bin.diffship)).toBe(BIN);
  });

  // The system's Node, when it is another major version than the one running the tests.
  const major = (node: string) =>
    execFileSync(node, ['-p', 'process.versions.node.split(".")[0]']).toString().trim();
  const other = ['/usr/bin/node', '/usr/local/bin/node'].find(
    (n) => existsSync(n) && major(n) !== process.versions.node.split('.')[0],
  );
  it.runIf(other !== undefined)(`has 16 threads on the system's Node too (${other ?? 'none'})`, async () => {
    const plain = await deployCountingThreads('plain20', { UV_THREADPOOL_SIZE: undefined }, other);
    const user = await deployCountingThreads('user20', { UV_THREADPOOL_SIZE: '2' }, other);
    expect(plain - user).toBe(16 - 2);
    expect(readFileSync(join(ws, 'env-plain20'), 'utf8')).toBe('unset\n');
  });
});
