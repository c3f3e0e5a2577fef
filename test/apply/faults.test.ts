/**
 * Faults leave nothing behind (issue 12): an empty or cut-short lock, a full
 * disk at lock time and while staging, a staged file corrupted on the target,
 * the order of the durable steps, backup pruning and the lock's lease.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { LocalTransport } from '../../src/transport/local/local-transport.js';
import { TargetSession } from '../../src/apply/session.js';
import type { PlanOptions } from '../../src/observe/plan-target.js';
import { forceUnlock, type LockInfo } from '../../src/apply/lock.js';
import { layout } from '../../src/apply/layout.js';
import { inspectTarget } from '../../src/apply/inspect.js';
import type { Transport } from '../../src/transport/transport.js';
import type { Logger } from '../../src/log.js';
import { makeRepo, snapshot } from '../helpers/repo.js';
import { tempDir } from '../helpers/git.js';
import { warnings } from '../helpers/warnings.js';
import { recording } from '../helpers/recording.js';
import { fill, isRoot, tinyDisk } from '../helpers/tiny-disk.js';

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

function setup() {
  const repo = makeRepo();
  const target = tempDir('diffship-faults-');
  cleanups.push(repo.cleanup, () => rmSync(target, { recursive: true, force: true }));
  return { repo, target };
}

async function deploy(
  transport: Transport,
  repoDir: string,
  to: string,
  over: Partial<PlanOptions> = {},
  log?: Logger,
) {
  const s = await TargetSession.open({ transport, stateDir: '.diffship', command: 'deploy', log });
  try {
    const plan = await s.plan({ repo: repoDir, to, mode: 'additive', onDrift: 'fail', ...over });
    const result = await s.apply(plan, repoDir);
    return { plan, result, deployId: s.deployId };
  } finally {
    await s.close();
  }
}

const lockPath = (target: string) => join(target, '.diffship/lock.json');

function lockOf(over: Partial<LockInfo>): LockInfo {
  return {
    deployId: 'other-deploy',
    command: 'deploy',
    user: 'ci',
    host: 'build-host-elsewhere.example',
    pid: 4242,
    since: new Date().toISOString(),
    leaseUntil: new Date(Date.now() + 60_000).toISOString(),
    ...over,
  };
}

describe('the lock', () => {
  it('an empty lock file (a run stopped while writing it) is taken over with a warning; status and unlock say what is there', async () => {
    const { repo, target } = setup();
    const v1 = repo.commit({ 'a.txt': 'a' });
    mkdirSync(join(target, '.diffship'));
    writeFileSync(lockPath(target), '');
    const status = await inspectTarget('t', new LocalTransport(target), {
      repo: repo.dir,
      stateDir: '.diffship',
    });
    expect(status.lock).toBeNull();
    expect(status.lockUnreadable).toMatch(/empty/);
    const { log, lines } = warnings();
    await deploy(new LocalTransport(target), repo.dir, v1, {}, log);
    expect(lines.join('\n')).toMatch(/taking over a stale lock .*lock file is empty/);
    expect(readFileSync(join(target, 'a.txt'), 'utf8')).toBe('a');
    expect(existsSync(lockPath(target))).toBe(false);
    // A cut-short lock: unlock removes it and says it was not a valid lock.
    writeFileSync(lockPath(target), '{"deployId": "x", "ho');
    const t = new LocalTransport(target);
    await t.connect();
    const removed = await forceUnlock(t, layout('.diffship'));
    expect(removed?.info).toBeNull();
    expect(removed?.raw.length).toBe(21);
    expect(existsSync(lockPath(target))).toBe(false);
  });

  it.runIf(isRoot)(
    'a full disk at lock time leaves no lock behind: the error says so, the next deploy runs',
    async () => {
      const { repo } = setup();
      const v1 = repo.commit({ 'a.txt': 'a' });
      const disk = tinyDisk(128, cleanups);
      const target = join(disk, 'site');
      mkdirSync(join(target, '.diffship'), { recursive: true });
      const filler = fill(disk);
      const error = await TargetSession.open({
        transport: new LocalTransport(target),
        stateDir: '.diffship',
        command: 'deploy',
      }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(error).toMatchObject({
        code: 'E_TRANSPORT',
        message: expect.stringMatching(/lock.*ENOSPC.*free space/),
      });
      expect(readdirSync(join(target, '.diffship'))).toEqual([]); // no empty lock, no temporary file
      rmSync(filler);
      await deploy(new LocalTransport(target), repo.dir, v1);
      expect(readFileSync(join(target, 'a.txt'), 'utf8')).toBe('a');
    },
  );

  it('a holder on another machine: an expired lease is taken over with a warning, a live one is refused', async () => {
    const { repo, target } = setup();
    const v1 = repo.commit({ 'a.txt': 'a' });
    mkdirSync(join(target, '.diffship'));
    const live = lockOf({ pid: 999_999 }); // no such pid here, and that means nothing on another host
    writeFileSync(lockPath(target), JSON.stringify(live));
    await expect(deploy(new LocalTransport(target), repo.dir, v1)).rejects.toMatchObject({
      code: 'E_LOCK',
      message: expect.stringContaining('ci@build-host-elsewhere.example'),
    });
    expect(JSON.parse(readFileSync(lockPath(target), 'utf8'))).toEqual(live);
    expect(existsSync(join(target, 'a.txt'))).toBe(false);

    const expired = lockOf({ leaseUntil: new Date(Date.now() - 1000).toISOString() });
    writeFileSync(lockPath(target), JSON.stringify(expired));
    const { log, lines } = warnings();
    await deploy(new LocalTransport(target), repo.dir, v1, {}, log);
    expect(lines.join('\n')).toMatch(/stale lock held by ci@build-host-elsewhere.example.*lease ran out/);
    expect(readFileSync(join(target, 'a.txt'), 'utf8')).toBe('a');
    expect(hostname()).not.toBe('build-host-elsewhere.example');
  });

  it('a long deploy renews its lease: the lock file’s lease moves while the session holds it', async () => {
    const { target } = setup();
    const { log, lines } = warnings();
    const s = await TargetSession.open({
      transport: new LocalTransport(target),
      stateDir: '.diffship',
      command: 'deploy',
      lease: { leaseMs: 3_000, renewMs: 50 },
      log,
    });
    try {
      const first = JSON.parse(readFileSync(lockPath(target), 'utf8')) as LockInfo;
      // Wait for the renewal itself (the file changes), not for a fixed time.
      let now = first;
      const until = Date.now() + 10_000; // bounded: a lease never renewed fails here, not by the test timeout
      while (now.leaseUntil === first.leaseUntil && Date.now() < until) {
        await new Promise((r) => setTimeout(r, 20));
        now = JSON.parse(readFileSync(lockPath(target), 'utf8')) as LockInfo;
      }
      expect(Date.parse(now.leaseUntil)).toBeGreaterThan(Date.parse(first.leaseUntil));
      expect(now.deployId).toBe(s.deployId);
      // Taken over meanwhile (it looked dead to someone): the renewal stops, it does not overwrite.
      const theirs = lockOf({});
      writeFileSync(lockPath(target), JSON.stringify(theirs));
      // Wait for the next renewal to see it (its warning), bounded so a missing check fails, not hangs.
      const deadline = Date.now() + 10_000;
      while (!lines.some((l) => l.includes('no longer ours')) && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 20));
      expect(lines.join('\n')).toMatch(/the lock is no longer ours .*other-deploy.*not renewing it/);
      expect(JSON.parse(readFileSync(lockPath(target), 'utf8'))).toEqual(theirs);
    } finally {
      await s.close();
    }
    // close() leaves a lock it does not hold.
    expect(JSON.parse(readFileSync(lockPath(target), 'utf8')).deployId).toBe('other-deploy');
  });
});

describe('a failed deploy', () => {
  it('a staged file corrupted on the target: E_VERIFY, target untouched, staging removed before the error', async () => {
    const { repo, target } = setup();
    const v1 = repo.commit({ 'a.txt': 'one', 'b.txt': 'bee' });
    const v2 = repo.commit({ 'a.txt': 'two', 'b.txt': 'bee', 'c.txt': 'new' });
    await deploy(new LocalTransport(target), repo.dir, v1);
    const before = snapshot(target);
    const real = new LocalTransport(target);
    const corrupting = Object.create(real) as LocalTransport;
    corrupting.writeStream = async (rel, source, mode, options) => {
      await real.writeStream(rel, source, mode, options);
      // The target's disk flips a byte after the write returned.
      if (rel.includes('/staging/')) appendFileSync(join(target, rel), 'X');
    };
    const error = await deploy(corrupting, repo.dir, v2).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toMatchObject({
      code: 'E_VERIFY',
      message: expect.stringMatching(/staged copy of .*nothing was changed/),
    });
    expect(snapshot(target)).toEqual(before);
    expect(readdirSync(join(target, '.diffship/staging'))).toEqual([]);
    expect(readdirSync(join(target, '.diffship/backups'))).toHaveLength(1); // v1's only
  });

  it.runIf(isRoot)(
    'a full disk while staging: the staging and the partial backup go at once, the target is untouched',
    async () => {
      const { repo } = setup();
      const v1 = repo.commit({ 'a.txt': 'one' });
      const v2 = repo.commit({ 'a.txt': 'two', 'big.bin': 'x'.repeat(200_000) });
      const disk = tinyDisk(256, cleanups);
      const target = join(disk, 'site');
      await deploy(new LocalTransport(target), repo.dir, v1);
      const before = snapshot(target);
      const s = await TargetSession.open({
        transport: new LocalTransport(target),
        stateDir: '.diffship',
        command: 'deploy',
      });
      let filler = '';
      try {
        const plan = await s.plan({ repo: repo.dir, to: v2, mode: 'additive', onDrift: 'fail' });
        filler = fill(disk);
        await expect(s.apply(plan, repo.dir)).rejects.toThrow(/ENOSPC/);
        expect(existsSync(join(target, `.diffship/staging/${s.deployId}`))).toBe(false);
        expect(existsSync(join(target, `.diffship/backups/${s.deployId}`))).toBe(false);
      } finally {
        await s.close();
      }
      expect(snapshot(target)).toEqual(before);
      expect(existsSync(lockPath(target))).toBe(false);
      rmSync(filler);
      await deploy(new LocalTransport(target), repo.dir, v2);
      expect(readFileSync(join(target, 'a.txt'), 'utf8')).toBe('two');
    },
  );

  it('status shows staging left over by a killed run, and the backups, with their size', async () => {
    const { repo, target } = setup();
    const v1 = repo.commit({ 'a.txt': 'x'.repeat(1000) });
    await deploy(new LocalTransport(target), repo.dir, v1);
    const v2 = repo.commit({ 'a.txt': 'y'.repeat(10) });
    await deploy(new LocalTransport(target), repo.dir, v2);
    mkdirSync(join(target, '.diffship/staging/20990101T000000000Z-dead01'), { recursive: true });
    writeFileSync(join(target, '.diffship/staging/20990101T000000000Z-dead01/0'), 'z'.repeat(777));
    const info = await inspectTarget('t', new LocalTransport(target), {
      repo: repo.dir,
      stateDir: '.diffship',
    });
    expect(info.usage.staging).toEqual({ count: 1, bytes: 777 });
    expect(info.usage.backups.count).toBe(2);
    // v2's backup holds v1's a.txt (1000 bytes) and both manifests.
    expect(info.usage.backups.bytes).toBeGreaterThan(1000);
  });
});

describe('the durable steps, in order (a recording transport over a real one)', () => {
  it('staged files, the backup and the journal are written unsynced and synced in one call, then the journal is renamed, then the files; the manifest and the state in a second', async () => {
    const { repo, target } = setup();
    const v1 = repo.commit({ 'a.txt': 'one', 'b/c.txt': 'cee' });
    const v2 = repo.commit({ 'a.txt': 'two', 'b/c.txt': 'sea', 'd.txt': 'new' });
    await deploy(new LocalTransport(target), repo.dir, v1);
    const { transport, calls } = recording(new LocalTransport(target));
    await deploy(transport, repo.dir, v2);
    const at = (pred: (c: (typeof calls)[number]) => boolean) => calls.findIndex(pred);
    const syncs = calls.flatMap((c, i) => (c.op === 'syncWritten' ? [i] : []));
    const journal = at((c) => c.op === 'rename' && c.to === '.diffship/journal.json');
    const firstIntoPlace = at(
      (c) => c.op === 'rename' && c.path.includes('/staging/') && !c.to.startsWith('.diffship'),
    );
    const staged = calls.flatMap((c, i) =>
      c.op === 'writeStream' && c.path.includes('/staging/') ? [i] : [],
    );
    const manifest = at((c) => c.op === 'rename' && /backups\/.*\/manifest\.json$/.test(c.to));
    expect(syncs).toHaveLength(2);
    expect(staged).toHaveLength(3);
    for (const i of staged) expect(calls[i]!.sync).toBe(false);
    expect(Math.max(...staged)).toBeLessThan(syncs[0]!);
    expect(manifest).toBeGreaterThan(-1);
    expect(manifest).toBeLessThan(syncs[0]!);
    expect(syncs[0]).toBeLessThan(journal);
    expect(journal).toBeLessThan(firstIntoPlace);
    // The journal (what recovery trusts) is written unsynced, made durable by that one sync, then renamed.
    const journalWrite = at((c) => c.op === 'writeFile' && /journal\.json\.tmp-/.test(c.path));
    expect(calls[journalWrite]).toMatchObject({ sync: false });
    expect(journalWrite).toBeLessThan(syncs[0]!);
    expect(calls[journal]!.path).toBe(calls[journalWrite]!.path);
    // The manifest and the state: written unsynced, one sync for both, then the state's rename commits them.
    // Streamed in chunks where the transport can (manifest-store.ts recordManifestFile).
    const manifestWrite = at(
      (c) => (c.op === 'writeFile' || c.op === 'writeStream') && /manifests\/.*\.tsv$/.test(c.path),
    );
    const stateWrite = at((c) => c.op === 'writeFile' && /state\.json\.tmp-/.test(c.path));
    const state = at((c) => c.op === 'rename' && c.to === '.diffship/state.json');
    expect(calls[manifestWrite]).toMatchObject({ sync: false });
    expect(calls[stateWrite]).toMatchObject({ sync: false });
    expect(Math.max(firstIntoPlace, manifestWrite, stateWrite)).toBeLessThan(syncs[1]!);
    expect(syncs[1]).toBeLessThan(state);
  });
});

describe('backups', () => {
  it('five deploys keep exactly the last three backups, the newest ones; an expired one is not looked at again before its removal', async () => {
    const { repo, target } = setup();
    const ids: string[] = [];
    let last: ReturnType<typeof recording> | null = null;
    for (let i = 1; i <= 5; i++) {
      const v = repo.commit({ 'a.txt': `version ${i}` });
      last = recording(new LocalTransport(target));
      ids.push((await deploy(last.transport, repo.dir, v)).deployId);
    }
    expect(readdirSync(join(target, '.diffship/backups')).sort()).toEqual(ids.slice(2).sort());
    // The fifth deploy dropped the second one's backup: the prune's look at it (folder and
    // manifest at once), then its manifest unlinked, then the folder removed; no second look
    // at the folder in between (a round trip over SSH).
    const expired = `.diffship/backups/${ids[1]}`;
    const onIt = last!.calls.filter((c) => c.path === expired || c.path.startsWith(`${expired}/`));
    expect(onIt.slice(-4).map((c) => `${c.op} ${c.path.slice(expired.length)}`)).toEqual([
      'lstat ',
      'lstat /manifest.json',
      'unlink /manifest.json',
      'removeTree ',
    ]);
    // The newest backup holds what deploy 5 replaced: version 4.
    const manifest = JSON.parse(
      readFileSync(join(target, `.diffship/backups/${ids[4]}/manifest.json`), 'utf8'),
    );
    const file = manifest.entries[0].file as string;
    expect(readFileSync(join(target, `.diffship/backups/${ids[4]}/${file}`), 'utf8')).toBe('version 4');
  });
});

describe('what a cut-off commit reports', () => {
  it('the state is written, then the link drops: the deploy succeeded (the target holds the new release), the next run drops the journal', async () => {
    const { repo, target } = setup();
    const v1 = repo.commit({ 'a.txt': 'one' });
    const v2 = repo.commit({ 'a.txt': 'two', 'b.txt': 'bee' });
    await deploy(new LocalTransport(target), repo.dir, v1);
    const real = new LocalTransport(target);
    const dropping = Object.create(real) as LocalTransport;
    dropping.unlink = async (rel) => {
      if (rel === '.diffship/journal.json') throw new Error('connection to deploy@host lost');
      return real.unlink(rel);
    };
    const { log, lines } = warnings();
    const { result } = await deploy(dropping, repo.dir, v2, {}, log);
    expect(result.state.release).toBe(v2);
    expect(lines.join('\n')).toMatch(
      /is in place and recorded, but its journal could not be removed.*next run drops it/,
    );
    expect(readFileSync(join(target, 'b.txt'), 'utf8')).toBe('bee');
    expect(existsSync(join(target, '.diffship/journal.json'))).toBe(true);
    // status says what the next run will do: finish (drop the journal), not undo.
    const info = await inspectTarget('t', new LocalTransport(target), {
      repo: repo.dir,
      stateDir: '.diffship',
    });
    expect(info).toMatchObject({ release: v2, interrupted: true, recovery: 'finish' });
    const s = await TargetSession.open({
      transport: new LocalTransport(target),
      stateDir: '.diffship',
      command: 'deploy',
    });
    await s.close();
    expect(s.recovered).toMatch(/finished interrupted deploy/);
    expect(s.state?.release).toBe(v2);
    expect(readFileSync(join(target, 'a.txt'), 'utf8')).toBe('two');
  });

  it('a commit that fails before its state is written is undone, and the error says where the target stands', async () => {
    const { repo, target } = setup();
    const v1 = repo.commit({ 'a.txt': 'one', 'b.txt': 'bee' });
    const v2 = repo.commit({ 'a.txt': 'two', 'b.txt': 'bee2' });
    await deploy(new LocalTransport(target), repo.dir, v1);
    const before = snapshot(target);
    const real = new LocalTransport(target);
    const failing = Object.create(real) as LocalTransport;
    let renames = 0;
    failing.rename = async (from, to) => {
      if (from.includes('/staging/') && !to.startsWith('.diffship') && ++renames === 2)
        throw new Error('ENOSPC: no space left on device');
      return real.rename(from, to);
    };
    await expect(deploy(failing, repo.dir, v2)).rejects.toThrow(
      new RegExp(`ENOSPC.*undone: .* is back at release ${v1.slice(0, 12)}; fix the cause and deploy again`),
    );
    expect(snapshot(target)).toEqual(before);
  });
});

describe('refused before anything is written', () => {
  it('a folder on the target where the release has a file: E_UNSAFE naming it, no staging, no backup, no journal', async () => {
    const { repo, target } = setup();
    const v1 = repo.commit({ 'a.txt': 'one' });
    const v2 = repo.commit({ 'a.txt': 'one', x: 'a file now' });
    await deploy(new LocalTransport(target), repo.dir, v1);
    mkdirSync(join(target, 'x'));
    writeFileSync(join(target, 'x/by-hand.txt'), 'kept');
    const before = snapshot(target);
    const { transport, calls } = recording(new LocalTransport(target));
    // on-drift: overwrite, so that drift (something where nothing was) does not stop it first.
    await expect(deploy(transport, repo.dir, v2, { onDrift: 'overwrite' })).rejects.toMatchObject({
      code: 'E_UNSAFE',
      message: expect.stringMatching(
        /folder\(s\) on the target where the release has a file: x — move or remove/,
      ),
    });
    expect(snapshot(target)).toEqual(before);
    // Refused up front: nothing was staged or backed up on the way.
    const writes = ['writeFile', 'writeStream', 'symlink', 'rename', 'link', 'mkdirp'];
    expect(calls.filter((c) => writes.includes(c.op) && c.path !== '.diffship')).toEqual([]);
  });
});
