/**
 * Faults leave nothing behind over SSH too, against a real OpenSSH server and
 * a real full disk (a tiny tmpfs, root only): the lock is never left empty,
 * a deploy that fails while staging removes its staging before it reports,
 * and `status` sees what is really there.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TargetSession } from '../../src/apply/session.js';
import { inspectTarget } from '../../src/apply/inspect.js';
import { SshTransport } from '../../src/transport/ssh/ssh-transport.js';
import { makeRepo, snapshot } from '../helpers/repo.js';
import { startSshd, type Sshd } from '../helpers/sshd.js';
import { fill, isRoot, tinyDisk } from '../helpers/tiny-disk.js';

let sshd: Sshd;
let repo: ReturnType<typeof makeRepo>;
const cleanups: Array<() => void> = [];

beforeAll(async () => {
  sshd = await startSshd();
  repo = makeRepo();
});
afterAll(async () => {
  // sshd first: a session's helper still running in a tiny disk keeps it busy for umount.
  await sshd.stop();
  for (const c of cleanups.reverse()) c();
  repo.cleanup();
});

const ssh = (root: string) => new SshTransport(sshd.sshOptions(), root);

async function deploy(root: string, to: string): Promise<void> {
  const s = await TargetSession.open({ transport: ssh(root), stateDir: '.diffship', command: 'deploy' });
  try {
    await s.apply(await s.plan({ repo: repo.dir, to, mode: 'additive', onDrift: 'fail' }), repo.dir);
  } finally {
    await s.close();
  }
}

describe.runIf(isRoot)('ssh target on a full disk', () => {
  it('at lock time: a clear error, no lock file (empty or temporary) left; the next deploy runs', async () => {
    const v1 = repo.commit({ 'a.txt': 'one' });
    const disk = tinyDisk(128, cleanups, 'diffship-ssh-fulldisk-');
    const target = join(disk, 'site');
    mkdirSync(join(target, '.diffship'), { recursive: true });
    const filler = fill(disk);
    const error = await deploy(target, v1).then(
      () => null,
      (e: unknown) => e as Error,
    );
    expect(error?.message).toMatch(/cannot write the lock .*nothing was changed; free space/);
    expect(readdirSync(join(target, '.diffship'))).toEqual([]);
    const info = await inspectTarget('far', ssh(target), { repo: repo.dir, stateDir: '.diffship' });
    expect(info).toMatchObject({ lock: null, lockUnreadable: null });
    rmSync(filler);
    await deploy(target, v1);
    expect(readFileSync(join(target, 'a.txt'), 'utf8')).toBe('one');
    expect(existsSync(join(target, '.diffship/lock.json'))).toBe(false);
  });

  it('while staging: the staging and the partial backup are gone when the error comes; the target is untouched', async () => {
    const v1 = repo.commit({ 'a.txt': 'one' });
    const v2 = repo.commit({ 'a.txt': 'two', 'big.bin': 'x'.repeat(200_000) });
    const disk = tinyDisk(256, cleanups, 'diffship-ssh-fulldisk-');
    const target = join(disk, 'site');
    await deploy(target, v1);
    const before = snapshot(target);
    const s = await TargetSession.open({ transport: ssh(target), stateDir: '.diffship', command: 'deploy' });
    let filler = '';
    try {
      const plan = await s.plan({ repo: repo.dir, to: v2, mode: 'additive', onDrift: 'fail' });
      filler = fill(disk);
      await expect(s.apply(plan, repo.dir)).rejects.toMatchObject({ code: 'E_TRANSPORT' });
      expect(existsSync(join(target, `.diffship/staging/${s.deployId}`))).toBe(false);
      expect(existsSync(join(target, `.diffship/backups/${s.deployId}`))).toBe(false);
    } finally {
      await s.close();
    }
    expect(snapshot(target)).toEqual(before);
    rmSync(filler);
    const info = await inspectTarget('far', ssh(target), { repo: repo.dir, stateDir: '.diffship' });
    expect(info.usage.staging.count).toBe(0);
    expect(info.usage.backups.count).toBe(1);
  });
});
