/**
 * One deploy per target, between real processes: a deploy holding the lock
 * (its `before` hook waits) makes a second one fail at once naming the holder;
 * a holder killed with SIGKILL leaves a stale lock the next deploy takes over;
 * `diffship unlock` clears a lock by hand and says whose it was.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TargetStatusInfo } from '../../src/apply/inspect.js';
import type { Report } from '../../src/report/types.js';
import { cli, cliStart } from '../helpers/cli.js';
import { makeRepo } from '../helpers/repo.js';
import { git, tempDir } from '../helpers/git.js';

let repo: ReturnType<typeof makeRepo>;
let ws: string;
const started: Array<ReturnType<typeof cliStart>> = [];

/** Poll until `test` holds (a real process is on its way), failing after `ms`. */
async function until(test: () => boolean, what: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!test()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Wait until the deploy `s` runs its before hook on `name` (so it holds the lock); fail with its output if it ended. */
async function holding(s: ReturnType<typeof cliStart>, name: string): Promise<void> {
  const held = join(ws, `held-${name}`);
  await until(() => existsSync(held) || s.child.exitCode !== null, `the deploy on ${name} to hold the lock`);
  if (!existsSync(held)) {
    const r = await s.done;
    throw new Error(
      `the deploy on ${name} exited ${r.code} before holding the lock:\n${r.stdout}${r.stderr}`,
    );
  }
}

const lockFile = (name: string) => join(ws, 't', name, '.diffship/lock.json');
const user = (() => {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? 'unknown';
  }
})();

beforeAll(() => {
  repo = makeRepo();
  repo.commit({ 'wf/a.json': 'a1\n', 'wf/b.json': 'b1\n' });
  git(repo.dir, 'tag', 'v1');
  ws = tempDir('diffship-lock-');
  // The before hook says it runs (with its shell's pid), then waits for a "go-<name>" file.
  writeFileSync(
    join(ws, 'diffship.yml'),
    [
      'source: wf',
      'defaults:',
      '  before: { run: "echo $$ > held-{name}; while [ ! -f go-{name} ]; do sleep 0.05; done", timeout: 60s }',
      'targets:',
      '  - { name: busy, type: local, path: t/busy }',
      '  - { name: killed, type: local, path: t/killed }',
      '  - { name: manual, type: local, path: t/manual }',
      '',
    ].join('\n'),
  );
});
afterAll(async () => {
  for (const s of started)
    if (s.child.exitCode === null && s.child.signalCode === null) s.child.kill('SIGKILL');
  // Let any hook still waiting end itself.
  for (const name of ['busy', 'killed', 'manual']) writeFileSync(join(ws, `go-${name}`), '');
  await new Promise((resolve) => setTimeout(resolve, 200));
  repo.cleanup();
  rmSync(ws, { recursive: true, force: true });
});

const deploy = (name: string, ...args: string[]) =>
  cli(ws, ['deploy', '--repo', repo.dir, '--to', 'v1', '--targets', name, '--no-progress', ...args]);
const startDeploy = (name: string) => {
  const s = cliStart(ws, ['deploy', '--repo', repo.dir, '--to', 'v1', '--targets', name, '--no-progress']);
  started.push(s);
  return s;
};

describe('the target lock', () => {
  it('a second deploy fails at once (exit 2) naming the holder; the first finishes and leaves no lock', async () => {
    const first = startDeploy('busy');
    await holding(first, 'busy');
    const pid = first.child.pid!;
    expect(JSON.parse(readFileSync(lockFile('busy'), 'utf8'))).toMatchObject({ pid, user, host: hostname() });

    // status sees the holder, alive (not stale).
    const st = cli(ws, ['status', '--repo', repo.dir, '--targets', 'busy', '--json']);
    const lock = (JSON.parse(st.stdout) as { targets: TargetStatusInfo[] }).targets[0]!.lock;
    expect(lock).toMatchObject({ pid, user, host: hostname(), command: 'deploy', stale: null });

    const t0 = Date.now();
    const reportFile = join(ws, 'second.json');
    const second = deploy('busy', '--report', reportFile);
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(second.code).toBe(2);
    expect(first.child.exitCode).toBe(null); // the first is still waiting in its hook
    const report = JSON.parse(readFileSync(reportFile, 'utf8')) as Report;
    const error = report.targets[0]!.error!;
    expect(error).toMatch(
      new RegExp(
        `^preflight: .*t/busy is locked by ${user}@${hostname()} \\(pid ${pid}, deploy \\S+\\) since \\d{4}-\\d\\d-\\d\\dT\\S+Z — wait for it, or run \`diffship unlock --targets busy\``,
      ),
    );
    // It never ran its hook, and it did not take or drop the holder's lock.
    expect(report.targets[0]!.steps.map((s) => s.name)).toEqual(['preflight']);
    expect(JSON.parse(readFileSync(lockFile('busy'), 'utf8'))).toMatchObject({ pid });
    expect(second.stdout).toMatch(/\nbusy +1 +failed /);
    // Under the table, the whole error with the command that clears it (wrapped lines joined).
    expect(second.stdout.replace(/\n {4}/g, ' ')).toMatch(
      /\nbusy failed: preflight: .* is locked by .* run `diffship unlock --targets busy`/,
    );

    writeFileSync(join(ws, 'go-busy'), '');
    const done = await first.done;
    expect(done.code).toBe(0);
    expect(existsSync(lockFile('busy'))).toBe(false);
    expect(readFileSync(join(ws, 't/busy/a.json'), 'utf8')).toBe('a1\n');
  });

  it('a lock left by a deploy killed with SIGKILL is taken over by the next deploy, with a warning', async () => {
    const victim = startDeploy('killed');
    await holding(victim, 'killed');
    const pid = victim.child.pid!;
    victim.child.kill('SIGKILL');
    await victim.done;
    // Its hook runs in its own process group and outlives it: let it end.
    writeFileSync(join(ws, 'go-killed'), '');
    const stale = JSON.parse(readFileSync(lockFile('killed'), 'utf8')) as { pid: number; deployId: string };
    expect(stale.pid).toBe(pid);

    const next = deploy('killed');
    expect(next.code).toBe(0);
    expect(next.stderr).toContain(
      `diffship: warning: ${join(ws, 't/killed')}: taking over a stale lock held by ${user}@${hostname()} (pid ${pid}, deploy ${stale.deployId})`,
    );
    expect(next.stderr).toContain(`: its process ${pid} on ${hostname()} is gone`);
    expect(next.stdout).toMatch(/\nkilled +1 +deployed /);
    expect(existsSync(lockFile('killed'))).toBe(false);
  });

  it('diffship unlock --targets clears a lock and says whose it was (--target still works)', async () => {
    const victim = startDeploy('manual');
    await holding(victim, 'manual');
    const pid = victim.child.pid!;
    victim.child.kill('SIGKILL');
    await victim.done;
    writeFileSync(join(ws, 'go-manual'), '');
    const held = JSON.parse(readFileSync(lockFile('manual'), 'utf8')) as { deployId: string; since: string };

    const r = cli(ws, ['unlock', '--targets', 'manual']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(
      `unlocked manual: was held by ${user}@${hostname()} (pid ${pid}, deploy ${held.deployId}) since ${held.since}\n`,
    );
    expect(existsSync(lockFile('manual'))).toBe(false);

    const again = cli(ws, ['unlock', '--target', 'manual']);
    expect(again.code).toBe(0);
    expect(again.stdout).toBe('manual was not locked\n');

    const unknown = cli(ws, ['unlock', '--targets', 'manul']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^diffship: --targets manul: no such target — did you mean "manual"\? /);

    const none = cli(ws, ['unlock']);
    expect(none.code).toBe(2);
    expect(none.stderr).toBe('diffship: unlock: say which targets to unlock: --targets <name>[,<name>…]\n');
  });
});
