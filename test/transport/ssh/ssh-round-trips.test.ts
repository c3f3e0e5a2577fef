/**
 * Fewer round trips per SSH deploy (issue 13): lstats asked in one turn of the
 * event loop go to the file helper as one record (helper-lstat.ts), the lock
 * is created in one record with the state folder's first peek right behind it
 * (create-exclusive.ts, helper-peek.ts `behind`), and the lock's release reads
 * the lock as the host has it, never an answer a peek kept, checking and
 * removing it in one record. Real sshd on
 * loopback; the helper's records and the SFTP lstats are counted by wrapping
 * the transport's own parts, the host's files are changed behind its back
 * with node:fs.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TargetSession } from '../../../src/apply/session.js';
import { acquireLock } from '../../../src/apply/lock.js';
import { layout } from '../../../src/apply/layout.js';
import { silentLogger } from '../../../src/log.js';
import { OP_EXCL, OP_MKDIR, OP_PEEK } from '../../../src/transport/ssh/perl-helper-protocol.js';
import { SshTransport } from '../../../src/transport/ssh/ssh-transport.js';
import { startSshd, type Sshd } from '../../helpers/sshd.js';
import { tempDir } from '../../helpers/git.js';
import { HOSTILE } from '../../apply/conformance.js';
import { makeRepo } from '../../helpers/repo.js';
import { deploy } from '../../helpers/staged-tree.js';

let sshd: Sshd;
let base: string;
let outside: string;
let counter = 0;
beforeAll(async () => {
  sshd = await startSshd();
  base = tempDir('diffship-ssh-rtt-');
  outside = tempDir('diffship-ssh-rtt-outside-');
});
afterAll(async () => {
  await sshd?.stop();
  fs.rmSync(base, { recursive: true, force: true });
  fs.rmSync(outside, { recursive: true, force: true });
});

const newRoot = () => {
  const root = path.join(base, `r${counter++}`);
  fs.mkdirSync(root);
  return root;
};

/** Counts what goes to the host: the helper's records by op, and SFTP lstats. */
function counted(t: SshTransport): { ops: number[]; sftpLstats: string[] } {
  const seen = { ops: [] as number[], sftpLstats: [] as string[] };
  const parts = t as unknown as {
    ops: { run: (...args: unknown[]) => Promise<string> };
    files: { lstat: (rel: string) => Promise<unknown> };
  };
  const run = parts.ops.run.bind(parts.ops);
  parts.ops.run = (...args: unknown[]) => {
    seen.ops.push(args[1] as number);
    return run(...args);
  };
  const lstat = parts.files.lstat.bind(parts.files);
  parts.files.lstat = (rel: string) => {
    seen.sftpLstats.push(rel);
    return lstat(rel);
  };
  return seen;
}

describe('lstats of one tick', () => {
  it('go to the helper as one record and answer as SFTP does, for every kind of path', async () => {
    const root = newRoot();
    const at = (rel: string) => path.join(root, rel);
    fs.mkdirSync(at('d'));
    for (const name of HOSTILE) fs.writeFileSync(path.join(root, 'd', name), name);
    fs.writeFileSync(at('f'), 'file', { mode: 0o640 });
    fs.symlinkSync('f', at('link'));
    fs.symlinkSync(outside, at('out'));
    fs.writeFileSync(path.join(outside, 'x'), 'outside');
    execFileSync('mkfifo', [at('fifo')]);
    const paths = [
      'd',
      'f',
      'link',
      'out',
      'out/x',
      'fifo',
      'nope',
      'f/under',
      ...HOSTILE.map((n) => `d/${n}`),
    ];
    const t = new SshTransport(sshd.sshOptions(), root);
    const sftpOnly = new SshTransport(sshd.sshOptions(), root, undefined, { bulkOps: false });
    await Promise.all([t.connect(), sftpOnly.connect()]);
    try {
      await t.lstat('f'); // the helper is up
      const seen = counted(t);
      const batched = await Promise.all(paths.map((p) => t.lstat(p)));
      const plain = await Promise.all(paths.map((p) => sftpOnly.lstat(p)));
      expect(batched).toEqual(plain);
      expect(batched[paths.indexOf('nope')]).toBeNull();
      expect(batched[paths.indexOf('link')]).toMatchObject({ type: 'symlink' });
      expect(seen.ops).toEqual([10]); // one peek record, no reads
      expect(seen.sftpLstats).toEqual([]);
      // The root is SFTP's (the helper is never asked about it).
      expect(await t.lstat('')).toMatchObject({ type: 'dir' });
      expect(seen.sftpLstats).toEqual(['']);
    } finally {
      await Promise.all([t.close(), sftpOnly.close()]);
    }
  });

  it('are fresh every time: nothing is kept between batches', async () => {
    const root = newRoot();
    const t = new SshTransport(sshd.sshOptions(), root);
    await t.connect();
    try {
      expect(await t.lstat('a')).toBeNull();
      fs.writeFileSync(path.join(root, 'a'), 'now here');
      expect(await t.lstat('a')).toMatchObject({ type: 'file', size: 8 });
    } finally {
      await t.close();
    }
  });
});

describe('the lock over SSH', () => {
  it('after a look at the state folder in this process, peeks all of it behind the lock: no second peek', async () => {
    const root = newRoot();
    const repo = makeRepo();
    try {
      // A state folder with a manifest file and a backup: a deploy's look has a second level.
      await deploy(new SshTransport(sshd.sshOptions(), root), repo.dir, repo.commit({ 'a.txt': 'one' }));
      await deploy(new SshTransport(sshd.sshOptions(), root), repo.dir, repo.commit({ 'a.txt': 'two' }));
      expect(fs.readdirSync(path.join(root, '.diffship/backups')).length).toBeGreaterThan(0);
      // Preflight's read-only look, then the deploy's own session (another connection, as a test can).
      const look = await TargetSession.open({
        transport: new SshTransport(sshd.sshOptions(), root),
        stateDir: '.diffship',
        command: 'preflight',
        readOnly: true,
      });
      await look.close();
      const t = new SshTransport(sshd.sshOptions(), root);
      await t.connect();
      const seen = counted(t);
      const s = await TargetSession.open({ transport: t, stateDir: '.diffship', command: 'deploy' });
      try {
        expect(s.state?.deployId).toBeDefined();
        const excl = seen.ops.indexOf(14);
        // The lock, the peek behind it, and no other peek while the session opened.
        expect(seen.ops.slice(excl, excl + 2)).toEqual([14, 10]);
        expect(seen.ops.slice(excl + 2)).not.toContain(10);
        expect(seen.sftpLstats).toEqual([]);
      } finally {
        await s.close();
      }
    } finally {
      repo.cleanup();
    }
  });

  it('is taken in one record, the state folder peeked behind it in the same write', async () => {
    const root = newRoot();
    const first = await TargetSession.open({
      transport: new SshTransport(sshd.sshOptions(), root),
      stateDir: '.diffship',
      command: 'deploy',
    });
    await first.close();
    const t = new SshTransport(sshd.sshOptions(), root);
    await t.connect();
    const seen = counted(t);
    const s = await TargetSession.open({ transport: t, stateDir: '.diffship', command: 'deploy' });
    try {
      const lock = JSON.parse(fs.readFileSync(path.join(root, '.diffship/lock.json'), 'utf8')) as {
        deployId: string;
      };
      expect(lock.deployId).toBe(s.deployId);
      // After the helper's chdir, the state folder's path check (a peek) saw the folder: no mkdir
      // (a round trip), then the lock (excl) with the first peek right behind it (nothing more to
      // peek at in a folder with no backup).
      const excl = seen.ops.indexOf(14);
      expect(seen.ops.filter((op) => op === 14)).toHaveLength(1);
      expect(seen.ops.slice(excl - 1, excl + 2)).toEqual([10, 14, 10]);
      expect(seen.ops.slice(0, excl)).not.toContain(11);
      expect(seen.ops).not.toContain(1); // no separate write and link of a temporary lock
      expect(seen.sftpLstats).toEqual([]);
      expect(fs.readdirSync(path.join(root, '.diffship')).filter((n) => n.includes('.new-'))).toEqual([]);
    } finally {
      await s.close();
    }
    expect(fs.existsSync(path.join(root, '.diffship/lock.json'))).toBe(false);
  });

  it('held by another deploy: E_LOCK naming it, read from the peek behind the create; no temporary left', async () => {
    const root = newRoot();
    const holder = await TargetSession.open({
      transport: new SshTransport(sshd.sshOptions(), root),
      stateDir: '.diffship',
      command: 'deploy',
      deployId: 'the-holder',
    });
    try {
      const t = new SshTransport(sshd.sshOptions(), root);
      await t.connect();
      const seen = counted(t);
      await expect(
        TargetSession.open({ transport: t, stateDir: '.diffship', command: 'deploy' }),
      ).rejects.toMatchObject({
        code: 'E_LOCK',
        message: expect.stringContaining('the-holder'),
      });
      expect(seen.ops.filter((op) => op === 14)).toHaveLength(1);
      expect(seen.sftpLstats).toEqual([]);
      expect(fs.readdirSync(path.join(root, '.diffship')).filter((n) => n.includes('.new-'))).toEqual([]);
    } finally {
      await holder.close();
    }
  });

  it('is never created through a link on its path', async () => {
    const root = newRoot();
    fs.symlinkSync(outside, path.join(root, '.diffship'));
    const t = new SshTransport(sshd.sshOptions(), root);
    await t.connect();
    try {
      await expect(
        t.createExclusiveAndPeek('.diffship/lock.json', Buffer.from('{}'), 0o644, { paths: [], reads: [] }),
      ).rejects.toMatchObject({ code: 'E_UNSAFE' });
      expect(fs.readdirSync(outside).filter((n) => n.startsWith('lock'))).toEqual([]);
    } finally {
      await t.close();
    }
  });

  it('goes in a state folder made in its own round trip, or, where the helper cannot make it, made the usual way', async () => {
    const layoutOf = layout('.diffship');
    const take = (t: SshTransport, id: string) =>
      acquireLock(t, layoutOf, id, 'deploy', silentLogger, 't', undefined, {
        paths: ['.diffship', '.diffship/lock.json'],
        reads: ['.diffship'],
        makeDir: true,
      });
    // Missing: made (0755), the lock created in it and the folder looked at, in one round trip.
    const made = newRoot();
    const t = new SshTransport(sshd.sshOptions(), made);
    await t.connect();
    try {
      const seen = counted(t);
      const lock = await take(t, '20261207T100000000Z-aaaaaa');
      expect(seen.ops).toEqual([OP_MKDIR, OP_EXCL, OP_PEEK]);
      expect(fs.statSync(path.join(made, '.diffship')).mode & 0o7777).toBe(0o755);
      expect(lock.peeked?.get('.diffship')?.names).toEqual(['lock.json']);
      await lock.release();
    } finally {
      await t.close();
    }
    // A file where the folder goes: the helper's mkdir fails, the lock's record behind it is not
    // run; the usual way then tells why, and nothing is created.
    const blocked = newRoot();
    fs.writeFileSync(path.join(blocked, '.diffship'), 'not a folder\n');
    const u = new SshTransport(sshd.sshOptions(), blocked);
    await u.connect();
    try {
      await expect(take(u, '20261207T100000000Z-bbbbbb')).rejects.toThrow(/\.diffship/);
      expect(fs.readFileSync(path.join(blocked, '.diffship'), 'utf8')).toBe('not a folder\n');
      expect(fs.readdirSync(blocked)).toEqual(['.diffship']);
    } finally {
      await u.close();
    }
  });

  it('is released only while it is still ours on the host, whatever a peek saw before', async () => {
    const root = newRoot();
    const s = await TargetSession.open({
      transport: new SshTransport(sshd.sshOptions(), root),
      stateDir: '.diffship',
      command: 'deploy',
    });
    // Taken over behind this deploy's back (its lease ran out while it was paused, say).
    const lockFile = path.join(root, '.diffship/lock.json');
    const theirs = { ...JSON.parse(fs.readFileSync(lockFile, 'utf8')), deployId: 'the-new-owner' };
    fs.writeFileSync(`${lockFile}.x`, JSON.stringify(theirs));
    fs.renameSync(`${lockFile}.x`, lockFile);
    await s.close();
    expect(JSON.parse(fs.readFileSync(lockFile, 'utf8'))).toMatchObject({ deployId: 'the-new-owner' });
  });

  it("is released in one record, checked on the host: ours removed, a new owner's (written as ours are) kept", async () => {
    const root = newRoot();
    const lockFile = path.join(root, '.diffship/lock.json');
    for (const takenOver of [false, true]) {
      const t = new SshTransport(sshd.sshOptions(), root);
      const s = await TargetSession.open({ transport: t, stateDir: '.diffship', command: 'deploy' });
      const text = fs.readFileSync(lockFile, 'utf8');
      expect(text.startsWith(`{\n  "deployId": "${s.deployId}",\n`)).toBe(true);
      const theirs = `${JSON.stringify({ ...JSON.parse(text), deployId: `${s.deployId}x` }, null, 2)}\n`;
      if (takenOver) fs.writeFileSync(lockFile, theirs);
      const seen = counted(t);
      await s.close();
      // The release record alone: no peek of the lock first, no separate unlink.
      expect(seen.ops).toEqual([15]);
      expect(seen.sftpLstats).toEqual([]);
      if (takenOver) {
        expect(fs.readFileSync(lockFile, 'utf8')).toBe(theirs);
        fs.unlinkSync(lockFile);
      } else expect(fs.existsSync(lockFile)).toBe(false);
    }
  });
});

describe("an update's look at the files it replaces", () => {
  it('asks their lstats and the stat cache exact stats together: one wait, not two, and still vouched for', async () => {
    const root = newRoot();
    const repo = makeRepo();
    try {
      await deploy(new SshTransport(sshd.sshOptions(), root), repo.dir, repo.commit({ 'a/x.txt': 'one' }));
      const t = new SshTransport(sshd.sshOptions(), root);
      await t.connect();
      // Each record sent and answered, in order (ops by number: 10 peek, 13 exact stats, 4 hash).
      const events: string[] = [];
      const parts = t as unknown as { ops: { run: (...args: unknown[]) => Promise<string> } };
      const run = parts.ops.run.bind(parts.ops);
      let n = 0;
      parts.ops.run = (...args: unknown[]) => {
        const [op, rel, id] = [args[1] as number, String(args[2]), n++];
        if (rel.split('\0').includes('a/x.txt')) {
          events.push(`send ${op}#${id}`);
          return run(...args).finally(() => events.push(`answer ${op}#${id}`));
        }
        return run(...args);
      };
      await deploy(t, repo.dir, repo.commit({ 'a/x.txt': 'two' }));
      expect(fs.readFileSync(path.join(root, 'a/x.txt'), 'utf8')).toBe('two');
      const peek = events.findIndex((e) => e.startsWith('send 10#'));
      const stats = events.findIndex((e) => e.startsWith('send 13#'));
      const firstAnswer = events.findIndex((e) => e.startsWith('answer '));
      expect(peek).toBeGreaterThanOrEqual(0);
      expect(stats).toBeGreaterThanOrEqual(0);
      // Both went out before either was answered: one round trip.
      expect(Math.max(peek, stats)).toBeLessThan(firstAnswer);
      // The stat cache vouched for the file it replaces: it was never hashed on the host.
      expect(events.filter((e) => e.startsWith('send 4#'))).toEqual([]);
    } finally {
      repo.cleanup();
    }
  });
});
