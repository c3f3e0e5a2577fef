/**
 * End to end: checks and hooks through the real CLI. A `tcp` check that waits
 * for a port opening late, a `command` check (`run` and `remote`), a `remote`
 * hook that sees the DIFFSHIP_* variables, and a hook that times out.
 */
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { freePort, waitFor } from '../helpers/host.js';
import { Fleet, liveInGroup, logLine, stepNames, targetOf, workflow } from './e2e-fixture.js';

let fleet: Fleet;
beforeEach(() => {
  fleet = new Fleet();
});
afterEach(async () => {
  await fleet.cleanup();
});

describe('tcp check', () => {
  it('waits for a port that opens a second after the deploy begins', async () => {
    const sha = fleet.release('v1', { 'orders.json': workflow('Orders') });
    const port = await freePort();
    fleet.writeConfig({
      source: 'workflows',
      // No host: a local target's host, localhost.
      defaults: { verify: [{ tcp: { port, interval: '100ms', timeout: '10s' } }] },
      targets: [{ name: 'a', path: 'targets/a' }],
    });
    const started = fleet.start('deploy', ['--to', 'v1']);
    let stderr = '';
    started.child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const server = net.createServer((socket) => socket.end());
    let openedAt = 0;
    try {
      // A second after the deploy began, and once the check has met a closed port.
      await new Promise((r) => setTimeout(r, 1000));
      await waitFor(() => stderr.includes(`tcp localhost:${port}: attempt 1:`), 30_000, 'the first attempt');
      server.listen(port, '127.0.0.1');
      await once(server, 'listening');
      openedAt = Date.now();
      const run = await started.done;
      expect(run.code, run.stderr).toBe(0);
      expect(run.report.status).toBe('succeeded');
      const verify = targetOf(run.report, 'a').steps.find((s) => s.name === 'verify')!;
      expect(verify.status).toBe('ok');
      expect(verify.detail).toMatch(new RegExp(`^ok tcp localhost:${port} \\((\\d+) attempt\\(s\\)\\)`));
      const attempts = Number(/\((\d+) attempt/.exec(verify.detail)![1]);
      expect(attempts).toBeGreaterThan(1);
      // It kept trying from before the port opened until after.
      expect(Date.parse(verify.startedAt!)).toBeLessThan(openedAt);
      expect(Date.parse(verify.startedAt!) + verify.durationMs).toBeGreaterThanOrEqual(openedAt - 5);
      // The refusals were shown live, attempt by attempt.
      expect(run.stderr).toMatch(new RegExp(`tcp localhost:${port}: attempt 1: .*refused`));
      expect(fleet.state('a')?.release).toBe(sha);
    } finally {
      if (server.listening) {
        server.close();
        await once(server, 'close');
      }
    }
  });

  it('fails the target when the port never opens, and rolls it back', async () => {
    fleet.release('v1', { 'orders.json': workflow('Orders') });
    const port = await freePort();
    fleet.writeConfig({
      source: 'workflows',
      defaults: { verify: [{ tcp: { host: '127.0.0.1', port, interval: '100ms', timeout: '500ms' } }] },
      targets: [{ name: 'a', path: 'targets/a' }],
    });
    const run = await fleet.deploy('v1');
    expect(run.code).toBe(1);
    expect(targetOf(run.report, 'a')).toMatchObject({ status: 'rolled-back' });
    expect(targetOf(run.report, 'a').error).toMatch(`verify: FAILED tcp 127.0.0.1:${port}`);
    expect(fleet.tree('a', true)).toEqual({});
    expect(fleet.state('a')).toBeNull();
  });
});

describe('command check and remote hook', () => {
  it('a remote hook runs in the target folder with every DIFFSHIP_* variable; command checks pass', async () => {
    const v1 = fleet.release('v1', { 'orders.json': workflow('Orders'), 'version.txt': 'v1\n' });
    const v2 = fleet.release('v2', {
      'orders.json': workflow('Orders'),
      'lab.json': workflow('Lab'),
      'version.txt': 'v2\n',
    });
    const out = path.join(fleet.root, 'seen');
    fleet.writeConfig({
      source: 'workflows',
      defaults: {
        before: {
          // sshd would drop a client environment: the variables must reach a remote shell regardless.
          remote: [
            `pwd > "${out}-{name}-pwd"`,
            `env | grep ^DIFFSHIP_ | sort > "${out}-{name}-env"`,
            `cp "$DIFFSHIP_CHANGES" "${out}-{name}-changes.json"`,
          ].join(' && '),
        },
        verify: [
          // `run` on this machine (cwd: the config folder), `remote` in the target folder.
          { command: { run: 'grep -qx "$DIFFSHIP_TARGET" names.txt', interval: '100ms', timeout: '1s' } },
          {
            command: {
              remote: 'test "$(cat version.txt)" = "$EXPECT" && test "$DIFFSHIP_RELEASE" = {release}',
              interval: '100ms',
              timeout: '1s',
            },
          },
        ],
      },
      targets: [{ name: 'a', path: 'targets/a' }],
    });
    writeFileSync(path.join(fleet.root, 'names.txt'), 'a\n');

    // EXPECT is not set: the remote check fails, so the target is rolled back (to nothing).
    const run1 = await fleet.deploy('v1');
    expect(run1.code).toBe(1);
    expect(targetOf(run1.report, 'a')).toMatchObject({ status: 'rolled-back', from: null, to: v1 });
    expect(targetOf(run1.report, 'a').error).toMatch(
      /^verify: FAILED command \(remote\) test .*: command \(remote\) exited with code 1/,
    );
    expect(fleet.tree('a', true)).toEqual({});

    const run2 = await fleet.deploy('v2', [], undefined, { EXPECT: 'v2' });
    expect(run2.code, run2.stderr).toBe(0);
    const t = targetOf(run2.report, 'a');
    expect(t.status).toBe('deployed');
    expect(t.steps.find((s) => s.name === 'verify')!.detail.split('\n')).toEqual([
      expect.stringMatching(/^ok command grep -qx "\$DIFFSHIP_TARGET" names\.txt \(1 attempt\(s\)\)/),
      expect.stringMatching(/^ok command .*version\.txt.* \(1 attempt\(s\)\)/),
    ]);
    expect(readFileSync(`${out}-a-pwd`, 'utf8').trim()).toBe(fleet.dir('a'));
    const vars = Object.fromEntries(
      readFileSync(`${out}-a-env`, 'utf8')
        .trim()
        .split('\n')
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );
    expect(vars).toEqual({
      // `remote` commands read the copy in the target's state folder.
      DIFFSHIP_CHANGES: path.join(fleet.dir('a'), '.diffship', 'changes.json'),
      DIFFSHIP_DEPLOY_ID: run2.report.deployId,
      DIFFSHIP_HOST: 'localhost',
      DIFFSHIP_PATH: fleet.dir('a'),
      DIFFSHIP_PREVIOUS_RELEASE: '',
      DIFFSHIP_RELEASE: v2,
      DIFFSHIP_TARGET: 'a',
    });
    // The change file holds the target's change set (v1 was rolled back: a first deploy).
    expect(JSON.parse(readFileSync(`${out}-a-changes.json`, 'utf8'))).toMatchObject({
      target: 'a',
      from: null,
      to: v2,
      added: ['lab.json', 'orders.json', 'version.txt'],
    });
    expect(fleet.state('a')?.release).toBe(v2);
  });
});

describe('hook timeout', () => {
  it('before: sleep 30 with a 1s timeout fails the target at once; after runs; nothing is written', async () => {
    const v1 = fleet.release('v1', { 'orders.json': workflow('Orders') });
    fleet.release('v2', {
      'orders.json': workflow('Orders', ['receive', 'log']),
      'lab.json': workflow('Lab'),
    });
    const targets = [{ name: 'a', path: 'targets/a' }];
    fleet.writeConfig({ source: 'workflows', targets });
    fleet.writeConfig(
      {
        source: 'workflows',
        defaults: {
          // The shell leads the hook's process group: its pid is the group id.
          before: { run: `echo $$ > before.pid && ${logLine('before')} && sleep 30`, timeout: '1s' },
          after: { run: logLine('after') },
        },
        targets,
      },
      'slow.yml',
    );
    const r1 = await fleet.deploy('v1');
    expect(r1.code, r1.stderr).toBe(0);
    const tree = fleet.tree('a', true);
    const state = fleet.state('a');

    const run = await fleet.deploy('v2', [], 'slow.yml');
    expect(run.code).toBe(1);
    expect(run.ms).toBeLessThan(10_000);
    const t = targetOf(run.report, 'a');
    expect(t.status).toBe('failed');
    expect(stepNames(run.report, 'a')).toEqual(['lock', 'plan', 'before', 'after', 'unlock']);
    const before = t.steps.find((s) => s.name === 'before')!;
    expect(before.status).toBe('failed');
    expect(before.detail).toMatch(/timed out after 1s/);
    expect(before.durationMs).toBeGreaterThanOrEqual(900);
    expect(before.durationMs).toBeLessThan(5000);
    expect(t.steps.find((s) => s.name === 'after')!.status).toBe('ok');
    expect(t.error).toMatch(/^before: .*timed out after 1s/);
    expect(fleet.tree('a', true)).toEqual(tree);
    expect(fleet.state('a')).toEqual(state);
    expect(state?.release).toBe(v1);
    expect(fleet.leftovers('a')).toEqual([]);
    expect(fleet.hookLog()).toEqual(['before a', 'after a']);
    // The sleep was killed with its process group, not left running.
    const group = Number(readFileSync(path.join(fleet.root, 'before.pid'), 'utf8'));
    expect(liveInGroup(group)).toEqual([]);
  });
});
