/**
 * Every exec and the SFTP subsystem cost the host a start of the login user's
 * shell, which a heavy rc file makes slow (issue 13). An SSH connection starts
 * two, at once so their costs overlap: the SFTP session and the file helper
 * (whose start tells what the host can run: no probe of its own). Syncs, hashes
 * and tree removals go through the helper, never a new shell. Measured with a real sshd whose login user's
 * ~/.bashrc logs each shell start and sleeps (bash runs it for every command
 * sshd starts: their stdin is a socket).
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SshTransport } from '../../../src/transport/ssh/ssh-transport.js';
import { startSshd, type Sshd } from '../../helpers/sshd.js';
import { tempDir } from '../../helpers/git.js';

// Long enough that, on a loaded machine too, two shells started together overlap.
const RC_SLEEP = 1;
let sshd: Sshd;
let dir: string;
let log: string;
beforeAll(async () => {
  dir = tempDir('diffship-ssh-shells-');
  log = path.join(dir, 'shells.log');
  const home = path.join(dir, 'home');
  mkdirSync(home);
  // The login user's shell must be bash (root's is, here).
  writeFileSync(
    path.join(home, '.bashrc'),
    `echo "start $$" >> '${log}'\nsleep ${RC_SLEEP}\necho "end $$" >> '${log}'\n`,
  );
  sshd = await startSshd({ config: [`SetEnv HOME=${home}`] });
}, 60_000);
afterAll(async () => {
  await sshd?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const lines = () => readFileSync(log, 'utf8').trim().split('\n');

describe('remote shells per connection', () => {
  it('starts two (SFTP, file helper) at once; writes, syncs, hashes, renames and tree removals add none', async () => {
    const root = path.join(dir, 'target');
    writeFileSync(log, '');
    const t = new SshTransport(sshd.sshOptions(), root);
    try {
      await t.connect({ create: true });
      await t.mkdirp('tree/sub');
      await Promise.all(
        ['a', 'b', 'tree/sub/c'].map((f) => t.writeFile(f, Buffer.from(f), 0o644, { sync: false })),
      );
      await t.syncWritten();
      await t.rename('a', 'renamed');
      expect((await t.hashFiles(['renamed'])).get('renamed')).toBe(
        '2e65efe2a145dda7ee51d1741299f848e5bf752e',
      );
      await t.removeTree('tree');
      expect(await t.lstat('tree')).toBeNull();
      expect((await t.readdir(''))?.sort()).toEqual(['b', 'renamed']);
    } finally {
      await t.close();
    }
    const started = lines();
    expect(started.filter((l) => l.startsWith('start'))).toHaveLength(2);
    // Both had started before the first one was through its rc file: they overlapped.
    expect(started.slice(0, 2).every((l) => l.startsWith('start'))).toBe(true);
  }, 60_000);
});
