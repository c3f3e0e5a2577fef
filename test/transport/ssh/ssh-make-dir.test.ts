/**
 * SshTransport.makeDir (the file helper's mkdir op, helper-mkdir.ts): mkdir -p
 * in one round trip, the last folder given exactly the mode asked for when it
 * is made, an existing one left as it is, and nothing made through a link.
 * Real sshd on loopback.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SshTransport } from '../../../src/transport/ssh/ssh-transport.js';
import { startSshd, type Sshd } from '../../helpers/sshd.js';
import { tempDir } from '../../helpers/git.js';

let sshd: Sshd;
let root: string;
let outside: string;
beforeAll(async () => {
  sshd = await startSshd();
  root = tempDir('diffship-ssh-mkdir-');
  outside = tempDir('diffship-ssh-mkdir-outside-');
});
afterAll(async () => {
  await sshd?.stop();
  fs.rmSync(root, { recursive: true, force: true });
  fs.rmSync(outside, { recursive: true, force: true });
});

const modeOf = (rel: string) => fs.lstatSync(path.join(root, rel)).mode & 0o7777;

describe('ssh makeDir', () => {
  it('makes every level, sets the mode of the last exactly, leaves an existing folder as it is, never follows a link', async () => {
    const t = new SshTransport(sshd.sshOptions(), root);
    await t.connect();
    try {
      expect(await t.makeDir('s/a/b', 0o700)).toBe(true);
      expect(modeOf('s/a/b')).toBe(0o700);
      expect(fs.statSync(path.join(root, 's/a')).isDirectory()).toBe(true);
      fs.chmodSync(path.join(root, 's/a/b'), 0o750);
      expect(await t.makeDir('s/a/b', 0o700)).toBe(true);
      expect(modeOf('s/a/b')).toBe(0o750);
      fs.symlinkSync(outside, path.join(root, 'link'));
      fs.writeFileSync(path.join(root, 'file'), 'x');
      expect(await t.makeDir('link/x', 0o755)).toBe(false);
      expect(await t.makeDir('link', 0o755)).toBe(false);
      expect(await t.makeDir('file/x', 0o755)).toBe(false);
      expect(fs.readdirSync(outside)).toEqual([]);
      // Refused here: the SFTP path says why.
      await expect(t.mkdirp('link/x')).rejects.toMatchObject({ code: 'E_UNSAFE' });
    } finally {
      await t.close();
    }
  });

  it('without the file helper: not done, for the caller to do over SFTP', async () => {
    const t = new SshTransport(sshd.sshOptions(), root, undefined, { bulkOps: false });
    await t.connect();
    try {
      expect(await t.makeDir('plain', 0o755)).toBe(false);
      expect(fs.existsSync(path.join(root, 'plain'))).toBe(false);
    } finally {
      await t.close();
    }
  });
});
