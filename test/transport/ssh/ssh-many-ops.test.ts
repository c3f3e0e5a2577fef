/**
 * Many paths backed up or removed in one record of the file helper (keepMany, removeMany:
 * many-ops.ts), through a real OpenSSH server: what the host finds at each path, links that
 * share the file's inode, a link's text, folders removed with all they hold, a symlink on a
 * path refused by name with nothing done through it, and a host without the helper saying
 * "not here" so that the caller goes path by path.
 */
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readlinkSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sshSuite } from '../../helpers/ssh-suite.js';
import { watched } from '../../helpers/helper-records.js';
import { OP_KEEP_MANY, OP_REMOVE_MANY } from '../../../src/transport/ssh/many-ops-protocol.js';
import { SMALL_TREE } from '../../../src/transport/ssh/perl-helper-protocol.js';

const suite = sshSuite('many-ops');

/** A target with a file, an executable, a link, a folder with files, and a folder outside it. */
function target(name: string): string {
  const root = join(suite.base, name);
  mkdirSync(join(root, 'app/sub'), { recursive: true });
  mkdirSync(join(root, 'keep/files'), { recursive: true });
  mkdirSync(join(suite.base, `${name}-outside`), { recursive: true });
  writeFileSync(join(root, 'app/a.txt'), 'a\n', { mode: 0o640 });
  writeFileSync(join(root, 'app/run.sh'), '#!/bin/sh\n', { mode: 0o755 });
  symlinkSync('../elsewhere/target file', join(root, 'app/link'));
  writeFileSync(join(root, 'app/sub/x.txt'), 'x\n');
  writeFileSync(join(suite.base, `${name}-outside/secret.txt`), 'secret\n');
  // A folder of the target that is a symlink to one outside it.
  symlinkSync(join(suite.base, `${name}-outside`), join(root, 'trap'));
  return root;
}

describe('keep many: an lstat and a backup link per path, one record', () => {
  it('links files (their inode), tells links, folders and nothing there, in order', async () => {
    const root = target('keep');
    const t = await suite.open(root);
    try {
      const sent = watched(t);
      const items = ['app/a.txt', 'app/link', 'app/sub', 'app/none.txt', 'none/deeper.txt', 'app/run.sh'].map(
        (path, i) => ({ path, name: String(i * 10) }),
      );
      expect(await t.keepMany('keep/files', items)).toEqual([
        { kind: 'file', mode: 0o100640, linked: true },
        { kind: 'symlink', linkTarget: '../elsewhere/target file' },
        { kind: 'dir' },
        { kind: 'none' },
        { kind: 'none' },
        { kind: 'file', mode: 0o100755, linked: true },
      ]);
      expect(lstatSync(join(root, 'keep/files/0')).ino).toBe(lstatSync(join(root, 'app/a.txt')).ino);
      expect(lstatSync(join(root, 'keep/files/50')).ino).toBe(lstatSync(join(root, 'app/run.sh')).ino);
      // Only files are linked: nothing for the link, the folder or the missing paths.
      for (const n of ['10', '20', '30', '40']) expect(existsSync(join(root, `keep/files/${n}`))).toBe(false);
      expect(sent.map((r) => r.op)).toEqual([OP_KEEP_MANY]);
    } finally {
      await t.close();
    }
  });

  it('a symlink on a path is refused by its name, nothing linked through it', async () => {
    const root = target('keep-trap');
    const t = await suite.open(root);
    try {
      await expect(
        t.keepMany('keep/files', [
          { path: 'app/a.txt', name: '1' },
          { path: 'trap/secret.txt', name: '2' },
        ]),
      ).rejects.toMatchObject({
        code: 'E_UNSAFE',
        message: expect.stringContaining('trap/secret.txt') as unknown,
      });
      expect(existsSync(join(root, 'keep/files/2'))).toBe(false);
      // So is a backup folder reached through one.
      await expect(t.keepMany('trap/inner', [{ path: 'app/a.txt', name: '3' }])).rejects.toMatchObject({
        code: 'E_UNSAFE',
        message: expect.stringContaining('back up into "trap/inner"') as unknown,
      });
      expect(existsSync(join(suite.base, 'keep-trap-outside/inner'))).toBe(false);
    } finally {
      await t.close();
    }
  });

  it('a link the host refuses (one there already) is the error naming it', async () => {
    const root = target('keep-exists');
    writeFileSync(join(root, 'keep/files/7'), 'in the way\n');
    const t = await suite.open(root);
    try {
      await expect(t.keepMany('keep/files', [{ path: 'app/a.txt', name: '7' }])).rejects.toMatchObject({
        code: 'E_TRANSPORT',
        message: expect.stringMatching(/app\/a\.txt.*keep\/files\/7.*EEXIST/) as unknown,
      });
      expect(readFileSync(join(root, 'keep/files/7'), 'utf8')).toBe('in the way\n');
    } finally {
      await t.close();
    }
  });
});

describe('remove many: files, links and folders, one record', () => {
  it('removes each (a folder with all it holds, small or big), a missing one is fine', async () => {
    const root = target('remove');
    // A folder past SMALL_TREE entries goes to rm -rf on the host.
    mkdirSync(join(root, 'big/inner'), { recursive: true });
    for (let i = 0; i <= SMALL_TREE; i++) writeFileSync(join(root, `big/inner/f${i}`), '');
    const t = await suite.open(root);
    try {
      const sent = watched(t);
      expect(await t.removeMany(['app/a.txt', 'app/link', 'app/sub', 'app/none.txt', 'big', 'gone/x'])).toBe(
        true,
      );
      for (const p of ['app/a.txt', 'app/link', 'app/sub', 'big'])
        expect(existsSync(join(root, p)), p).toBe(false);
      expect(readFileSync(join(root, 'app/run.sh'), 'utf8')).toBe('#!/bin/sh\n');
      expect(readlinkSync(join(root, 'trap'))).toBe(join(suite.base, 'remove-outside'));
      expect(sent.map((r) => r.op)).toEqual([OP_REMOVE_MANY]);
    } finally {
      await t.close();
    }
  });

  it('a symlink on a path is refused by its name; nothing removed through it, the others removed', async () => {
    const root = target('remove-trap');
    const t = await suite.open(root);
    try {
      await expect(t.removeMany(['app/a.txt', 'trap/secret.txt', 'app/run.sh'])).rejects.toMatchObject({
        code: 'E_UNSAFE',
        message: expect.stringContaining('trap/secret.txt') as unknown,
      });
      expect(readFileSync(join(suite.base, 'remove-trap-outside/secret.txt'), 'utf8')).toBe('secret\n');
      expect(existsSync(join(root, 'app/a.txt'))).toBe(false);
      expect(existsSync(join(root, 'app/run.sh'))).toBe(false);
    } finally {
      await t.close();
    }
  });

  it('without the file helper (SFTP only): not here, nothing done (the caller goes path by path)', async () => {
    const root = target('sftp');
    const t = await suite.open(root, false);
    try {
      expect(await t.removeMany(['app/a.txt', 'app/run.sh'])).toBe(false);
      expect(await t.keepMany('keep/files', [{ path: 'app/a.txt', name: '1' }])).toBeNull();
      expect(existsSync(join(root, 'app/a.txt'))).toBe(true);
      expect(existsSync(join(root, 'keep/files/1'))).toBe(false);
    } finally {
      await t.close();
    }
  });
});
