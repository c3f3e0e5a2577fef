/**
 * Preflight's first looks at an SSH target's state folder are asked as soon as its early
 * connection is up (early-look.ts), while the release is still being read: preflight's session
 * then reads the state, the lock and the manifest from their answers and asks the host nothing
 * more for them (two waits fewer behind the release's work). A real sshd and a real deploy's
 * state folder; a target whose folder is missing asks nothing ahead.
 */
import { mkdirSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/config/resolve.js';
import { silentLogger } from '../../src/log.js';
import { deploy } from '../../src/api.js';
import { EarlyConnections } from '../../src/rollout/early-connect.js';
import type { EarlyLook } from '../../src/rollout/early-look.js';
import type { Transport } from '../../src/transport/transport.js';
import { TargetSession } from '../../src/apply/session.js';
import { readLock } from '../../src/apply/lock.js';
import { SshTransport } from '../../src/transport/ssh/ssh-transport.js';
import { CHDIR_SOFT, OP_CHDIR, OP_PEEK } from '../../src/transport/ssh/perl-helper-protocol.js';
import { OP_ROOT } from '../../src/transport/ssh/shell-ops-protocol.js';
import { OP_READ } from '../../src/transport/ssh/read-protocol.js';
import { makeRepo } from '../helpers/repo.js';
import { tempDir } from '../helpers/git.js';
import { sshTargetConfig, startSshd, type Sshd } from '../helpers/sshd.js';
import { watched, watchedEvery, type Sent } from '../helpers/helper-records.js';

let sshd: Sshd;
let root: string;
let repo: ReturnType<typeof makeRepo>;
beforeAll(async () => {
  root = realpathSync(tempDir('diffship-early-look-'));
  sshd = await startSshd();
  repo = makeRepo();
}, 60_000);
afterAll(async () => {
  await sshd?.stop();
  repo?.cleanup();
  rmSync(root, { recursive: true, force: true });
});

const configFor = (dir: string) =>
  resolveConfig({ targets: [{ name: 't', ...sshTargetConfig(sshd, dir) }] }, { baseDir: root });

/** Preflight's read-only session on what `take` handed over, with its early look. */
const preflightSession = (
  taken: { transport: Transport; look?: EarlyLook },
  config: ReturnType<typeof configFor>,
) =>
  TargetSession.open({
    transport: taken.transport,
    stateDir: config.stateDir,
    command: 'preflight',
    readOnly: true,
    lookedAhead: taken.look!.seen,
  });

describe("preflight's looks asked as the early connection comes up (SSH)", () => {
  it("are what preflight's session reads: no look, no read of the state folder asked again", async () => {
    const dir = join(root, 'deployed');
    mkdirSync(dir);
    const config = configFor(dir);
    const files = { 'app/a.txt': 'a\n', 'app/b.txt': 'b\n' };
    const first = repo.commit(files);
    await deploy({ config, repo: repo.dir, to: first });
    const next = repo.commit({ ...files, 'app/b.txt': 'b 2\n' });

    const before = Date.now();
    const every = watchedEvery();
    const early = EarlyConnections.start(config.targets, { config, command: 'deploy', log: silentLogger });
    const taken = early.take('t')!;
    try {
      expect(taken.look?.since).toBeGreaterThanOrEqual(before);
      // Answered: what the first look saw (the state folder's own entry among it).
      const seen = (await taken.look!.seen) as ReadonlyMap<string, unknown> | null;
      every.stop();
      expect(seen?.has('.diffship/state.json')).toBe(true);
      // The first look went with the root's record, in the connection's first round trip:
      // the helper moved into the configured folder softly, the peek chained to that.
      expect(firstTurn(every.sent)).toEqual([
        { op: OP_ROOT, rel: dir, chained: false, mode: 0 },
        { op: OP_CHDIR, rel: dir, chained: false, mode: CHDIR_SOFT },
        { op: OP_PEEK, rel: expect.stringContaining('.diffship/state.json') as unknown, chained: true },
      ]);
      // One look more (the manifest the state names, once the first answered): two in all.
      expect(every.sent.filter((s) => s.op === OP_PEEK)).toHaveLength(2);
      const sent = watched(taken.transport as SshTransport);
      const session = await preflightSession(taken, config);
      expect(await readLock(session.transport, session.layout)).toBeNull();
      expect(session.state?.release).toBe(first);
      // The plan reads the recorded manifest too: from the early look's answers as well.
      const plan = await session.plan({ repo: repo.dir, to: next, mode: 'additive', onDrift: 'fail' });
      expect(plan.writes.map((w) => w.path)).toEqual(['app/b.txt']);
      expect(
        sent.filter((s) => s.op === OP_READ || (s.op === OP_PEEK && s.rel.includes('.diffship'))),
      ).toEqual([]);
      await session.close();
    } finally {
      await taken.transport.close();
      await early.closeAll();
    }
  }, 60_000);

  it('sees nothing ahead of a target whose folder is missing; preflight sees it missing', async () => {
    const dir = join(root, 'not-there');
    const config = configFor(dir);
    const every = watchedEvery();
    const early = EarlyConnections.start(config.targets, { config, command: 'deploy', log: silentLogger });
    const taken = early.take('t')!;
    try {
      expect(await taken.look!.seen).toBeNull();
      every.stop();
      // Asked with the root's record, not run: the helper could not move into the folder.
      expect(firstTurn(every.sent).map((s) => s.op)).toEqual([OP_ROOT, OP_CHDIR, OP_PEEK]);
      const session = await preflightSession(taken, config);
      expect(session.missing).toBe(true);
      await session.close();
    } finally {
      await taken.transport.close();
      await early.closeAll();
    }
  }, 60_000);

  it("leaves the helper of a target whose folder is missing running: a deploy's connect makes it there", async () => {
    const dir = join(root, 'made-later');
    const config = configFor(dir);
    const early = EarlyConnections.start(config.targets, { config, command: 'deploy', log: silentLogger });
    const taken = early.take('t')!;
    try {
      expect(await taken.look!.seen).toBeNull();
      const t = taken.transport as SshTransport;
      await expect(t.connect()).rejects.toThrow(/does not exist on the host/);
      // The same connection's helper makes the folder and serves from it (no SFTP session, no new helper).
      const sent = watched(t);
      await t.connect({ create: true });
      expect(await t.lstat('.diffship')).toBeNull();
      expect(sent.map((s) => s.op)).toEqual([OP_ROOT, OP_CHDIR, expect.any(Number) as unknown]);
      expect(realpathSync(dir)).toBe(dir);
    } finally {
      await taken.transport.close();
      await early.closeAll();
    }
  }, 60_000);

  it('keeps nothing it saw where the folder resolves to one refused (a link to /)', async () => {
    const dir = join(root, 'to-root');
    symlinkSync('/', dir);
    const config = configFor(dir);
    const early = EarlyConnections.start(config.targets, { config, command: 'deploy', log: silentLogger });
    const taken = early.take('t')!;
    try {
      expect(await taken.look!.seen).toBeNull();
      await expect(taken.transport.connect()).rejects.toThrow(/resolves to "\/" on the host/);
    } finally {
      await taken.transport.close();
      await early.closeAll();
    }
  }, 60_000);
});

/** The records queued before any answer came back (the connection's first round trip), soft chdir checked. */
function firstTurn(sent: readonly Sent[]): Array<Omit<Sent, 'answersBefore' | 'answeredAs'>> {
  return sent
    .filter((s) => s.answersBefore === 0)
    .map(({ answersBefore: _, answeredAs: __, ...record }) => record);
}
