/**
 * An SSH first deploy's shortcuts (issue 13): folders the deploy creates are
 * staged whole and renamed into place in one go (apply/staged-tree.ts), as
 * locally, instead of one rename record per file; the staged writes are
 * pipelined (stage-writes.ts: a write the file helper has on its channel frees
 * its slot before the host answers). The guarantees stay: the target ends as
 * the release, folders get the mode a mkdir gives them, a write the host
 * refuses fails the deploy with nothing left in the target or the staging.
 * Against a real OpenSSH sshd.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { SshTransport } from '../../src/transport/ssh/ssh-transport.js';
import type { ByteSource, WriteOptions } from '../../src/transport/transport.js';
import { snapshot } from '../helpers/repo.js';
import { recording } from '../helpers/recording.js';
import { deploy, intoTarget, releases, setup as sharedSetup, stagingLeft } from '../helpers/staged-tree.js';
import { startSshd, type Sshd } from '../helpers/sshd.js';

/** Files in the created folders. */
const FILES = 300;

let sshd: Sshd;
const cleanups: Array<() => void> = [];
beforeAll(async () => {
  sshd = await startSshd();
});
afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) c();
  await sshd?.stop();
});

const setup = () => sharedSetup('diffship-ssh-tree-', cleanups);

describe('an SSH deploy that creates folders', () => {
  it('renames each topmost new folder into place whole, and the target is the release', async () => {
    const { repo, target } = setup();
    const { v1, v2 } = releases(FILES);
    const c1 = repo.commit(v1);
    const c2 = repo.commit(v2);
    const first = recording(new SshTransport(sshd.sshOptions(), target));
    await deploy(first.transport, repo.dir, c1);
    expect(intoTarget(first.calls).map((c) => c.to)).toEqual(['old', 'a.txt']);
    const { transport, calls } = recording(new SshTransport(sshd.sshOptions(), target));
    await deploy(transport, repo.dir, c2);
    // 303 new files, four renames: three created folders whole and the one changed file.
    expect(
      intoTarget(calls)
        .map((c) => c.to)
        .sort(),
    ).toEqual(['a.txt', 'new', 'old/more', 'zz']);
    expect(snapshot(target, ['.diffship'])).toEqual(snapshot(repo.dir, ['.git']));
    // Folders get the mode a mkdir gives them (the umask's), not the state folder's.
    expect(statSync(join(target, 'new/d1')).mode & 0o777).toBe(statSync(join(target, 'old')).mode & 0o777);
    expect(statSync(join(target, 'new')).mode & 0o777).toBe(statSync(join(target, 'old/more')).mode & 0o777);
    expect(statSync(join(target, 'new')).mode & 0o077).not.toBe(0);
    expect(stagingLeft(target)).toEqual([]);
  });

  it('a staged write the host refuses after it went out: the deploy fails, nothing stays', async () => {
    const { repo, target } = setup();
    const { v1, v2 } = releases(FILES);
    const c1 = repo.commit(v1);
    const c2 = repo.commit(v2);
    await deploy(new SshTransport(sshd.sshOptions(), target), repo.dir, c1);
    const before = snapshot(target, ['.diffship']);
    const real = new SshTransport(sshd.sshOptions(), target);
    let sent = 0;
    let writes = 0;
    let sentAtFailure = 0;
    // The 100th file's answer is an error, heard after the next files went out.
    const answered = (n: number) => {
      if (writes < 100 && (writes += n) >= 100) {
        sentAtFailure = sent;
        throw new Error('EIO: input/output error');
      }
    };
    const failing = new Proxy(real, {
      get(t, prop) {
        if (prop === 'writeMany')
          return async (files: Parameters<SshTransport['writeMany']>[0], hash: 'sha1') => {
            sent += files.length;
            const ids = await t.writeMany(files, hash);
            answered(files.length);
            return ids;
          };
        if (prop !== 'writeStream') return Reflect.get(t, prop, t) as unknown;
        return async (rel: string, source: ByteSource, mode: number, options: WriteOptions = {}) => {
          const onQueued = () => {
            sent++;
            options.onQueued?.();
          };
          const id = await t.writeStream(rel, source, mode, { ...options, onQueued });
          answered(1);
          return id;
        };
      },
    });
    await expect(deploy(failing, repo.dir, c2)).rejects.toThrow(/EIO: input\/output error/);
    expect(sentAtFailure).toBeGreaterThanOrEqual(100); // the writes went out without waiting for answers
    expect(snapshot(target, ['.diffship'])).toEqual(before);
    expect(existsSync(join(target, 'new'))).toBe(false);
    expect(stagingLeft(target)).toEqual([]);
  });

  it('sends the small new files in batches (the bulk write), the rest one by one; the target is the release', async () => {
    const { repo, target } = setup();
    const { v1, v2 } = releases(FILES);
    // Past the batch's per-file limit: streamed on its own, never whole in memory.
    v2['new/big.bin'] = 'b'.repeat(300 * 1024);
    const c1 = repo.commit(v1);
    const c2 = repo.commit(v2);
    await deploy(new SshTransport(sshd.sshOptions(), target), repo.dir, c1);
    const { transport, calls } = recording(new SshTransport(sshd.sshOptions(), target));
    await deploy(transport, repo.dir, c2);
    const batches = calls.filter((c) => c.op === 'writeMany').length;
    expect(batches).toBeGreaterThanOrEqual(1);
    expect(batches).toBeLessThanOrEqual(4);
    // One by one: the big file only (the link is a symlink call; state files are written later).
    expect(calls.filter((c) => c.op === 'writeStream' && c.path.includes('/staging/')).length).toBe(1);
    expect(snapshot(target, ['.diffship'])).toEqual(snapshot(repo.dir, ['.git']));
    expect(statSync(join(target, 'new/tool.sh')).mode & 0o777).toBe(0o755);
    expect(stagingLeft(target)).toEqual([]);
  });
});
