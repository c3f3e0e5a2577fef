/**
 * Deploys from a SHA-256 repository (`git init --object-format=sha256`): the
 * engine hashes target files as that repository names its blobs, so staged
 * files verify, a rerun writes nothing, a hand edit is drift, `status` sees a
 * clean target as clean and a rollback restores byte for byte. On a local
 * target and on a real sshd, through each way the ssh transport hashes (the
 * perl helper, the perl script, sh + sha256sum, SFTP reads), then once more
 * through the real CLI.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { inspectTarget } from '../../src/apply/inspect.js';
import { TargetSession } from '../../src/apply/session.js';
import type { PlanOptions } from '../../src/observe/plan-target.js';
import type { TargetStatusInfo } from '../../src/apply/inspect.js';
import type { Report } from '../../src/report/types.js';
import { LocalTransport } from '../../src/transport/local/local-transport.js';
import { SshTransport } from '../../src/transport/ssh/ssh-transport.js';
import type { SshTuning } from '../../src/transport/ssh/tuning.js';
import type { Transport } from '../../src/transport/transport.js';
import { cli } from '../helpers/cli.js';
import { makeRepo, snapshot, type Tree } from '../helpers/repo.js';
import { git, tempDir } from '../helpers/git.js';
import { startSshd, sshTargetYaml, type Sshd } from '../helpers/sshd.js';
import { exactTree } from './conformance.js';

const big = 'large file, hashed on the host by sh rather than read over SFTP\n'.repeat(6000);
const V1: Tree = {
  'a.json': '{"v":1}',
  'b.json': 'bee',
  'run.sh': { content: '#!/bin/sh\necho 1\n', mode: 0o755 },
  'link.json': { link: 'a.json' },
  'dir/big.txt': big,
  'bin.dat': { content: '\u0000\u00ff\r\n\u0001binary' },
};
const V2: Tree = {
  'a.json': '{"v":2}',
  'b.json': 'bee',
  'run.sh': { content: '#!/bin/sh\necho 2\n', mode: 0o755 },
  'link.json': { link: 'new.json' },
  'new.json': 'new',
  'dir/big.txt': `${big}v2\n`,
};

let sshd: Sshd;
let repo: ReturnType<typeof makeRepo>;
let base: string;
let v1: string;
let v2: string;
let v1Files: ReturnType<typeof snapshot>;
let v2Files: ReturnType<typeof snapshot>;

beforeAll(async () => {
  sshd = await startSshd();
  repo = makeRepo({ objectFormat: 'sha256' });
  v1 = repo.commit(V1);
  v1Files = snapshot(repo.dir, ['.git']);
  git(repo.dir, 'tag', 'v1');
  v2 = repo.commit(V2);
  v2Files = snapshot(repo.dir, ['.git']);
  git(repo.dir, 'tag', 'v2');
  base = tempDir('diffship-sha256-');
});
afterAll(async () => {
  await sshd?.stop();
  repo?.cleanup();
  rmSync(base, { recursive: true, force: true });
});

/** `git hash-object` of some bytes in the SHA-256 repository. */
const hashInRepo = (text: string) =>
  execFileSync('git', ['hash-object', '--stdin'], { cwd: repo.dir, input: text, encoding: 'utf8' }).trim();

const variants: Array<[string, (root: string) => Transport]> = [
  ['local', (root) => new LocalTransport(root)],
  ...(
    [
      ['ssh, perl helper', { hashMethod: 'perl' }],
      ['ssh, perl script', { hashMethod: 'perl', bulkOps: false }],
      ['ssh, sh + sha256sum', { hashMethod: 'sh', bulkOps: false }],
      ['ssh, SFTP reads', { hashMethod: 'sftp', bulkOps: false }],
    ] as Array<[string, SshTuning]>
  ).map(([name, tuning]): [string, (root: string) => Transport] => [
    name,
    (root) => new SshTransport(sshd.sshOptions(), root, undefined, tuning),
  ]),
];

describe.each(variants)('a SHA-256 repository deployed to a target (%s)', (name, makeTransport) => {
  const open: TargetSession[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((s) => s.close().catch(() => undefined)));
  });

  let counter = 0;
  const newTarget = () => join(base, `${name.replace(/\W+/g, '-')}-${counter++}`);

  async function session(root: string, command = 'deploy', readOnly = false): Promise<TargetSession> {
    const s = await TargetSession.open({
      transport: makeTransport(root),
      stateDir: '.diffship',
      command,
      readOnly,
    });
    open.push(s);
    return s;
  }

  async function plan(root: string, to: string, over: Partial<PlanOptions> = {}) {
    const s = await session(root, 'plan', true);
    try {
      return await s.plan({ repo: repo.dir, to, mode: 'additive', onDrift: 'fail', ...over });
    } finally {
      await s.close();
    }
  }

  async function deploy(root: string, to: string, over: Partial<PlanOptions> = {}) {
    const s = await session(root);
    try {
      const p = await s.plan({ repo: repo.dir, to, mode: 'additive', onDrift: 'fail', ...over });
      expect(p.blocked, JSON.stringify(p.drift)).toBeNull();
      return await s.apply(p, repo.dir);
    } finally {
      await s.close();
    }
  }

  const status = (root: string): Promise<TargetStatusInfo> =>
    inspectTarget(name, makeTransport(root), { repo: repo.dir, stateDir: '.diffship' });

  it('deploys, verifies, sees drift, reports a clean status and rolls back byte for byte', async () => {
    const root = newTarget();

    // First deploy: every staged file verifies against its 64-hex blob id.
    const first = await deploy(root, 'v1');
    expect(first).toMatchObject({ changed: true, state: { release: v1 } });
    expect(v1).toMatch(/^[0-9a-f]{64}$/);
    expect(snapshot(root)).toEqual(v1Files);
    expect(await status(root)).toMatchObject({ release: v1, drift: [], error: null });

    // The target holds v1 exactly: planning v1 again writes nothing.
    const again = await plan(root, 'v1', { mode: 'authoritative' });
    expect(again).toMatchObject({ writes: [], deletes: [], drift: [], blocked: null });

    // A hand edit is drift, with the id a SHA-256 repository gives the edited bytes.
    writeFileSync(join(root, 'a.json'), 'edited by hand');
    expect((await status(root)).drift).toEqual(['a.json']);
    const blocked = await plan(root, 'v2');
    expect(blocked.drift).toEqual([
      { path: 'a.json', expected: hashInRepo('{"v":1}'), actual: hashInRepo('edited by hand') },
    ]);
    expect(blocked.blocked).not.toBeNull();
    writeFileSync(join(root, 'a.json'), '{"v":1}');
    expect((await status(root)).drift).toEqual([]);

    // Authoritative: every file is hashed after a walk, and none counts as drift.
    const before = exactTree(root);
    const second = await deploy(root, 'v2', { mode: 'authoritative' });
    expect(second).toMatchObject({ changed: true, state: { release: v2, previousRelease: v1 } });
    expect(snapshot(root)).toEqual(v2Files);
    expect(await status(root)).toMatchObject({ release: v2, previousRelease: v1, drift: [], error: null });

    const s = await session(root, 'rollback');
    try {
      expect(await s.rollback()).toMatchObject({ restored: v1 });
    } finally {
      await s.close();
    }
    expect(exactTree(root)).toEqual(before);
    expect(await status(root)).toMatchObject({ release: v1, drift: [], error: null });
  });
});

describe('a SHA-256 repository through the CLI (local and ssh targets)', () => {
  it('deploy, status, drift, rollback', () => {
    const ws = tempDir('diffship-sha256-cli-');
    try {
      const local = join(ws, 'targets/near');
      const far = join(ws, 'targets/far');
      writeFileSync(
        join(ws, 'diffship.yml'),
        [
          'targets:',
          `  - { name: near, type: local, path: ${JSON.stringify(local)} }`,
          ...sshTargetYaml(sshd, far),
          '',
        ].join('\n'),
      );
      const run = (...args: string[]) => {
        const r = cli(ws, [...args, '--repo', repo.dir]);
        expect(r.code, r.stdout + r.stderr).toBe(0);
        return r;
      };
      const statusJson = () =>
        (JSON.parse(run('status', '--json').stdout) as { targets: TargetStatusInfo[] }).targets;

      run('deploy', '--to', 'v1', '--no-progress');
      const afterV1 = [exactTree(local), exactTree(far)];
      run('deploy', '--to', 'v2', '--no-progress', '--report', join(ws, 'v2.json'));
      const report = JSON.parse(readFileSync(join(ws, 'v2.json'), 'utf8')) as Report;
      expect(report.targets.map((t) => [t.name, t.status, t.to])).toEqual([
        ['near', 'deployed', v2],
        ['far', 'deployed', v2],
      ]);
      // Additive (the default) keeps bin.dat, which v2 deleted; status checks it against its recorded blob.
      for (const root of [local, far])
        expect(snapshot(root)).toEqual({ ...v2Files, 'bin.dat': v1Files['bin.dat'] });
      expect(statusJson().map((t) => [t.name, t.release, t.drift])).toEqual([
        ['near', v2, []],
        ['far', v2, []],
      ]);

      writeFileSync(join(far, 'new.json'), 'by hand');
      expect(statusJson().map((t) => [t.name, t.drift])).toEqual([
        ['near', []],
        ['far', ['new.json']],
      ]);
      writeFileSync(join(far, 'new.json'), 'new');

      run('rollback', '--no-progress');
      expect([exactTree(local), exactTree(far)]).toEqual(afterV1);
      expect(statusJson().map((t) => [t.name, t.release, t.drift])).toEqual([
        ['near', v1, []],
        ['far', v1, []],
      ]);
    } finally {
      rmSync(ws, { recursive: true, force: true });
    }
  });
});
