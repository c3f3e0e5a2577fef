/**
 * Every exec and the SFTP subsystem cost the host a start of the login user's
 * shell, which a heavy rc file makes slow (issue 13). An SSH connection starts
 * one, as rsync does: the file helper (whose start tells what the host can run:
 * no probe of its own), which also resolves the target folder. The SFTP session
 * opens only when an operation needs it. Writes, syncs, hashes, renames, lists
 * and tree removals go through the helper, never a new shell. Measured with a real sshd whose login user's
 * ~/.bashrc logs each shell start and sleeps (bash runs it for every command
 * sshd starts: their stdin is a socket).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SshTransport } from '../../../src/transport/ssh/ssh-transport.js';
import { startSshd, type Sshd } from '../../helpers/sshd.js';
import { tempDir } from '../../helpers/git.js';

// Long enough that a shell start is plain in the log, short enough for the test's time.
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
/** The first shell's pid: the file helper's (its bash execs perl). */
const helperPid = (logged: string[]) => Number(logged.find((l) => l.startsWith('start'))!.split(' ')[1]);

describe('remote shells per connection', () => {
  it('starts one (the file helper); writes, syncs, hashes, renames and tree removals add none', async () => {
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
    expect(started.filter((l) => l.startsWith('start'))).toHaveLength(1);
  }, 60_000);

  it('reads files of any size through the helper; opens the SFTP session (a second shell) only when needed, and then once', async () => {
    const root = path.join(dir, 'target-sftp');
    writeFileSync(log, '');
    const t = new SshTransport(sshd.sshOptions(), root);
    try {
      await t.connect({ create: true });
      await t.writeFile('f', Buffer.from('x'), 0o644);
      expect(lines().filter((l) => l.startsWith('start'))).toHaveLength(1);
      // symlink, readlink, chmod, rmdir: helper records too.
      await t.symlink('f', 'l1');
      expect(await t.readlink('l1')).toBe('f');
      await t.chmod('f', 0o600);
      await t.mkdirp('d');
      expect(await t.rmdir('d')).toBe(true);
      await expect(t.chmod('l1', 0o600)).rejects.toThrow(/it is a symlink/);
      expect(lines().filter((l) => l.startsWith('start'))).toHaveLength(1);
      // A file read whole, small or above 1 MiB (a big target's manifest), comes in the helper's
      // read: no SFTP session for either.
      expect((await t.readFile('f')).toString()).toBe('x');
      const big = randomBytes(3 << 20);
      await t.writeFile('big', big, 0o644);
      const [a, b] = await Promise.all([t.readFile('big'), t.readFile('big')]);
      expect(a.equals(big) && b.equals(big)).toBe(true);
      expect(lines().filter((l) => l.startsWith('start'))).toHaveLength(1);
      // Once the helper has ended (killed on the host), SFTP takes over: the session opens now,
      // once for both reads.
      const helper = helperPid(lines());
      process.kill(helper, 'SIGKILL');
      const [c, d] = await Promise.all([t.readFile('big'), t.readFile('big')]);
      expect(c.equals(big) && d.equals(big)).toBe(true);
      expect((await t.lstat('f'))?.mode).toBe(0o600);
    } finally {
      await t.close();
    }
    expect(lines().filter((l) => l.startsWith('start'))).toHaveLength(2);
  }, 60_000);
});
