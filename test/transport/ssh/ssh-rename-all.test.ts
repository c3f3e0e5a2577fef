/**
 * A commit's renames and the stats its manifest records, in one turn of the file helper
 * (SshTransport.renameAllThenStat, rename-all.ts), through a real OpenSSH server: the stats
 * are of the files as renamed (the host takes them after every rename), a failed rename is
 * the transport's error naming it, and a host without the helper renames nothing here.
 */
import { existsSync, lstatSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sshSuite } from '../../helpers/ssh-suite.js';
import { watched } from '../../helpers/helper-records.js';
import { OP_RENAME } from '../../../src/transport/ssh/perl-helper-protocol.js';
import { OP_STATS } from '../../../src/transport/ssh/scan-protocol.js';

const suite = sshSuite('rename-all');

/** `n` staged files and the files they replace (the old ones in the way, as a commit finds them). */
function staged(root: string, n: number): Array<readonly [string, string]> {
  mkdirSync(join(root, 'staging'), { recursive: true });
  mkdirSync(join(root, 'app'), { recursive: true });
  const pairs: Array<readonly [string, string]> = [];
  for (let i = 0; i < n; i++) {
    writeFileSync(join(root, `staging/${i}`), `new ${i}\n`);
    writeFileSync(join(root, `app/f${i}.txt`), `old ${i}, a longer old text\n`);
    pairs.push([`staging/${i}`, `app/f${i}.txt`]);
  }
  return pairs;
}

describe('renames, then the stats of what they wrote, in one wait', () => {
  it('renames every file and stats each as renamed: one turn, the stats behind the renames', async () => {
    const root = join(suite.base, 'all');
    const pairs = staged(root, 40);
    const t = await suite.open(root);
    try {
      const sent = watched(t);
      const paths = pairs.map(([, to]) => to);
      const done = await t.renameAllThenStat(pairs, [...paths, 'app/missing.txt']);
      for (let i = 0; i < 40; i++)
        expect(readFileSync(join(root, `app/f${i}.txt`), 'utf8')).toBe(`new ${i}\n`);
      expect(existsSync(join(root, 'staging/0'))).toBe(false);
      // Each stat is the renamed file's: its inode and its ctime (which the rename moved).
      for (const p of paths) {
        const real = lstatSync(join(root, p), { bigint: true });
        const got = done?.stats?.get(p);
        expect(got, p).toMatchObject({ ino: String(real.ino), size: Number(real.size) });
        expect(BigInt(got!.ctimeNs) / 1_000_000n).toBe(real.ctimeNs / 1_000_000n);
      }
      expect(done?.stats?.get('app/missing.txt')).toBeNull();
      // All records queued before any answer came back, the stats last.
      expect(sent.map((r) => r.op)).toEqual([...pairs.map(() => OP_RENAME), OP_STATS]);
      expect(new Set(sent.map((r) => r.answersBefore)).size).toBe(1);
    } finally {
      await t.close();
    }
  });

  it('a rename that fails is the transport error naming it; the others are done', async () => {
    const root = join(suite.base, 'fails');
    const pairs = staged(root, 3);
    const t = await suite.open(root);
    try {
      const broken = [...pairs.slice(0, 1), ['staging/none', 'app/none.txt'] as const, ...pairs.slice(1)];
      await expect(t.renameAllThenStat(broken, ['app/f0.txt'])).rejects.toMatchObject({
        code: 'E_TRANSPORT',
        message: expect.stringContaining('staging/none') as unknown,
      });
      for (let i = 0; i < 3; i++)
        expect(readFileSync(join(root, `app/f${i}.txt`), 'utf8')).toBe(`new ${i}\n`);
    } finally {
      await t.close();
    }
  });

  it('without the file helper (SFTP only): null, nothing renamed (the caller renames one by one)', async () => {
    const root = join(suite.base, 'sftp');
    const pairs = staged(root, 2);
    const t = await suite.open(root, false);
    try {
      expect(await t.renameAllThenStat(pairs, ['app/f0.txt'])).toBeNull();
      expect(readFileSync(join(root, 'app/f0.txt'), 'utf8')).toMatch(/^old 0/);
      expect(existsSync(join(root, 'staging/0'))).toBe(true);
    } finally {
      await t.close();
    }
  });
});
