/**
 * A deploy whose plan preflight made (kept-plans.ts) asks for the folders its parents' check
 * looks at behind its lock, in the lock's round trip, not in one of their own after it; where a
 * `before` hook's local command runs in between (it may change the target), it looks again. A
 * first deploy into a missing folder looks at its state folder right behind the folder's creation,
 * makes its state folder in the lock's round trip, and lists the target's root there (what `take`
 * checks of a plan made on a missing folder).
 * A real sshd through the API's deploy; the file helper's records are watched
 * (helper-records.ts `watchedEvery`), and the target is compared with the release after each.
 */
import { mkdirSync, realpathSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deploy } from '../../src/api.js';
import { resolveConfig } from '../../src/config/resolve.js';
import {
  OP_CHDIR,
  OP_EXCL,
  OP_LIST,
  OP_MKDIR,
  OP_PEEK,
} from '../../src/transport/ssh/perl-helper-protocol.js';
import { OP_ROOT } from '../../src/transport/ssh/shell-ops-protocol.js';
import { OP_READ } from '../../src/transport/ssh/read-protocol.js';
import { makeRepo, snapshot, type Tree } from '../helpers/repo.js';
import { tempDir } from '../helpers/git.js';
import { sshTargetConfig, startSshd, type Sshd } from '../helpers/sshd.js';
import { watchedEvery, waits, type Sent } from '../helpers/helper-records.js';

let sshd: Sshd;
let root: string;
let repo: ReturnType<typeof makeRepo>;
beforeAll(async () => {
  root = realpathSync(tempDir('diffship-look-ahead-'));
  sshd = await startSshd();
  repo = makeRepo();
}, 60_000);
afterAll(async () => {
  await sshd?.stop();
  repo?.cleanup();
  rmSync(root, { recursive: true, force: true });
});

const target = (name: string, hooks?: Record<string, unknown>) => ({
  name,
  ...sshTargetConfig(sshd, path.join(root, name)),
  ...hooks,
});

/** 8 folders two deep, 3 files each; `rev` changes the first file of every folder. */
function release(rev: number): Tree {
  const tree: Tree = {};
  for (let d = 0; d < 8; d++)
    for (let f = 0; f < 3; f++) tree[`app/d${d}/f${f}.txt`] = `${d}.${f} ${f === 0 ? rev : 0}\n`;
  return tree;
}

/** The folders a peek asked about after the lock's turn (in records of their own). */
function foldersLookedAtAfterLock(sent: readonly Sent[]): string[] {
  const lock = sent.findIndex((s) => s.op === OP_EXCL);
  expect(lock, 'no lock record seen').toBeGreaterThanOrEqual(0);
  const lockTurn = sent[lock]!.answersBefore;
  return sent
    .filter((s) => s.op === OP_PEEK && s.answersBefore > lockTurn)
    .flatMap((s) => s.rel.split('\0'))
    .filter((p) => /^app(\/d\d)?$/.test(p));
}

/** The folders asked in the lock's own turn (the peek right behind it). */
function foldersAskedWithLock(sent: readonly Sent[]): string[] {
  const lock = sent.findIndex((s) => s.op === OP_EXCL);
  const lockTurn = sent[lock]!.answersBefore;
  return sent
    .filter((s) => s.op === OP_PEEK && s.answersBefore === lockTurn)
    .flatMap((s) => s.rel.split('\0'))
    .filter((p) => /^app(\/d\d)?$/.test(p));
}

/** A deploy through the API that succeeds, and the file helper's records it sent. */
async function deployWatched(config: ReturnType<typeof resolveConfig>, to: string): Promise<Sent[]> {
  const watch = watchedEvery();
  try {
    const r = await deploy({ config, repo: repo.dir, to });
    expect(r.status, JSON.stringify(r.targets[0]?.error)).toBe('succeeded');
  } finally {
    watch.stop();
  }
  return watch.sent;
}

describe('the parents of a kept plan, looked at behind the lock (SSH)', () => {
  it("are asked in the lock's round trip and not again: one wait less, the release exact", async () => {
    mkdirSync(path.join(root, 'a'));
    const config = resolveConfig({ targets: [target('a')] }, { baseDir: root });
    expect((await deploy({ config, repo: repo.dir, to: repo.commit(release(1)) })).status).toBe('succeeded');
    const v2 = repo.commit(release(2));
    const sent = await deployWatched(config, v2);
    expect(snapshot(path.join(root, 'a'), ['.diffship'])).toEqual(snapshot(repo.dir, ['.git']));
    // app and its 8 folders, all with the lock; none in a look of its own after it.
    expect(new Set(foldersAskedWithLock(sent))).toEqual(
      new Set(['app', ...Array.from({ length: 8 }, (_, d) => `app/d${d}`)]),
    );
    expect(foldersLookedAtAfterLock(sent)).toEqual([]);
    expect(waits(sent)).toBeGreaterThan(5);
    // The recorded manifest is read once, by preflight: the deploy holds its bytes.
    expect(sent.filter((s) => s.op === OP_READ && s.rel.startsWith('.diffship/manifests/'))).toHaveLength(1);
  }, 60_000);

  it('of a first deploy into a missing folder: its state folder made, the lock taken and the root listed in one turn', async () => {
    const config = resolveConfig({ targets: [target('c')] }, { baseDir: root });
    const sent = await deployWatched(config, repo.commit(release(5)));
    expect(snapshot(path.join(root, 'c'), ['.diffship'])).toEqual(snapshot(repo.dir, ['.git']));
    const lock = sent.find((s) => s.op === OP_EXCL)!;
    // (The helper's move into the folder's real path, its first record as the deploy's, may go first.)
    const turn = sent.filter((s) => s.answersBefore === lock.answersBefore && s.op !== OP_CHDIR);
    expect(turn.map((s) => [s.op, s.chained])).toEqual([
      [OP_MKDIR, false],
      [OP_EXCL, true],
      [OP_PEEK, false],
    ]);
    expect(turn[0]!.rel).toBe('.diffship');
    // The root, `.` on the wire, looked at (and listed) with the state folder: not listed again.
    expect(turn[2]!.rel.split('\0')).toContain('.');
    expect(sent.filter((s) => s.op === OP_LIST)).toEqual([]);
    expect(sent.filter((s) => s.op === OP_MKDIR && s.rel === '.diffship')).toHaveLength(1);
    // Before that, the folder made by the root's record, the state folder looked at right behind
    // it (the helper moved into the folder softly, the look chained): no look of its own between.
    const made = sent.find((s) => s.op === OP_ROOT && s.mode === 1)!;
    expect(sent.filter((s) => s.answersBefore === made.answersBefore).map((s) => [s.op, s.chained])).toEqual([
      [OP_ROOT, false],
      [OP_CHDIR, false],
      [OP_PEEK, true],
    ]);
    const between = sent.filter(
      (s) => s.answersBefore > made.answersBefore && s.answersBefore < lock.answersBefore,
    );
    expect(between.filter((s) => s.op !== OP_CHDIR)).toEqual([]);
  }, 60_000);

  it("are looked at again after a `before` hook's local command, which may change the target: the release exact", async () => {
    mkdirSync(path.join(root, 'b'));
    // The hook moves a folder the release writes into out of the way, as a hand might.
    const hooks = {
      before: { run: `mv '${path.join(root, 'b', 'app', 'd3')}' '${path.join(root, 'd3-moved')}'` },
    };
    const config = resolveConfig({ targets: [target('b', hooks)] }, { baseDir: root });
    const plain = resolveConfig({ targets: [target('b')] }, { baseDir: root });
    expect((await deploy({ config: plain, repo: repo.dir, to: repo.commit(release(3)) })).status).toBe(
      'succeeded',
    );
    const sent = await deployWatched(config, repo.commit(release(4)));
    expect(foldersAskedWithLock(sent)).toEqual([]);
    expect(foldersLookedAtAfterLock(sent)).toContain('app/d3');
    // The folder the hook moved away is made again for the release's changed file in it.
    const tree = snapshot(path.join(root, 'b'), ['.diffship']);
    expect(tree['app/d3/f0.txt']).toMatchObject({ type: 'file', content: '3.0 4\n' });
    expect(tree['app/d2/f0.txt']).toMatchObject({ type: 'file', content: '2.0 4\n' });
  }, 60_000);
});
