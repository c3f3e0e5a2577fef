/**
 * Files copied within a target (apply/target-copy.ts): a backup taken where a
 * hard link cannot be, a backed-up file restored by a rollback. Never read
 * whole (the file may be of any size): locally the bytes stream by offset;
 * over SSH the file helper copies them on the host; an SSH host without the
 * helper streams them through here over SFTP, no more files at once than the
 * transport's limit however many copies are asked. Real folders, a real sshd.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyOnTarget } from '../../src/apply/target-copy.js';
import { TargetSession } from '../../src/apply/session.js';
import { LocalTransport } from '../../src/transport/local/local-transport.js';
import { SshTransport } from '../../src/transport/ssh/ssh-transport.js';
import type { Transport } from '../../src/transport/transport.js';
import { tempDir } from '../helpers/git.js';
import { makeRepo } from '../helpers/repo.js';
import { recording } from '../helpers/recording.js';
import { startSshd, type Sshd } from '../helpers/sshd.js';
import { noise } from '../transport/conformance.js';

const BIG = 9 * 1024 * 1024 + 7;

let sshd: Sshd;
let base: string;
beforeAll(async () => {
  sshd = await startSshd();
  base = tempDir('diffship-target-copy-');
});
afterAll(async () => {
  await sshd?.stop();
  rmSync(base, { recursive: true, force: true });
});

let counter = 0;
type Kind = 'local' | 'ssh' | 'ssh without the file helper';
function transportFor(kind: Kind, root: string): Transport {
  if (kind === 'local') return new LocalTransport(root);
  return new SshTransport(sshd.sshOptions(), root, undefined, { bulkOps: kind === 'ssh' });
}

/** How each transport copies: the calls copyOnTarget makes. */
const COPY_CALLS: Record<Kind, string[]> = {
  local: ['openRead', 'writeStream'],
  ssh: ['copyFile'],
  'ssh without the file helper': ['copyFile'],
};

describe.each(['local', 'ssh', 'ssh without the file helper'] as const)('copyOnTarget (%s)', (kind) => {
  it('copies the exact bytes with exactly the mode, a new file; never read whole where it can be helped; never through a link', async () => {
    const root = join(base, `copy-${counter++}`);
    const data = noise(BIG, 3);
    const t0 = transportFor(kind, root);
    await t0.connect({ create: true });
    writeFileSync(join(root, 'src.bin'), data);
    writeFileSync(join(root, 'outside'), 'not to be copied');
    symlinkSync('outside', join(root, 'link'));
    const { transport: t, calls } = recording(t0);
    try {
      await copyOnTarget(t, 'src.bin', 'copy.bin', 0o750);
      expect(readFileSync(join(root, 'copy.bin')).equals(data)).toBe(true);
      expect(statSync(join(root, 'copy.bin')).mode & 0o7777).toBe(0o750);
      expect(statSync(join(root, 'copy.bin')).ino).not.toBe(statSync(join(root, 'src.bin')).ino);
      expect(calls.map((c) => c.op)).toEqual(COPY_CALLS[kind]);
      await expect(copyOnTarget(t, 'link', 'from-link', 0o644)).rejects.toMatchObject({ code: 'E_UNSAFE' });
      expect(existsSync(join(root, 'from-link'))).toBe(false);
      // A FIFO would block a plain open until a writer came: refused at once.
      execFileSync('mkfifo', [join(root, 'fifo')]);
      await expect(copyOnTarget(t, 'fifo', 'from-fifo', 0o644)).rejects.toMatchObject({
        code: expect.stringMatching(/^E_(TRANSPORT|UNSAFE)$/),
        message: expect.stringContaining('fifo'),
      });
    } finally {
      await t0.close();
    }
  });
});

describe('copies asked all at once (a rollback asks them in one pass)', () => {
  it("over SSH without the file helper, at most the transport's open-file limit go through here at once; each copy exact", async () => {
    const root = join(base, `many-${counter++}`);
    const limit = 8;
    const t = new SshTransport(sshd.sshOptions(), root, undefined, { bulkOps: false, concurrency: limit });
    await t.connect({ create: true });
    try {
      for (let i = 0; i < 200; i++) writeFileSync(join(root, `src-${i}`), `file ${i}\n`.repeat(1 + (i % 50)));
      // Count the SFTP handles this process holds open: each copy opens its source and its copy.
      const sftp = (t as unknown as { conn: { sftp: Record<string, (...a: unknown[]) => unknown> } }).conn
        .sftp;
      let open = 0;
      let most = 0;
      const wrap = (name: string, step: (error: unknown) => void) => {
        const real = sftp[name]!.bind(sftp);
        sftp[name] = (...args: unknown[]) => {
          const cb = args.pop() as (error: unknown, ...rest: unknown[]) => void;
          return real(...args, (error: unknown, ...rest: unknown[]) => {
            step(error);
            cb(error, ...rest);
          });
        };
      };
      wrap('open', (error) => {
        if (!error) most = Math.max(most, ++open);
      });
      wrap('close', () => open--);
      await Promise.all(
        Array.from({ length: 200 }, (_, i) => copyOnTarget(t, `src-${i}`, `copy-${i}`, 0o640)),
      );
      for (let i = 0; i < 200; i++)
        expect(readFileSync(join(root, `copy-${i}`), 'utf8')).toBe(`file ${i}\n`.repeat(1 + (i % 50)));
      // Two handles a copy (source and copy): never more copies at once than the limit.
      expect(most).toBeGreaterThan(0);
      expect(most).toBeLessThanOrEqual(2 * limit);
      expect(open).toBe(0);
    } finally {
      await t.close();
    }
  });
});

describe.each(['local', 'ssh'] as const)('a rollback of a target (%s)', (kind) => {
  it('restores a big file byte for byte from the backup, never reading it whole, with a fresh mtime', async () => {
    const repo = makeRepo();
    try {
      const v1Data = noise(BIG, 1).toString('base64');
      const v1 = repo.commit({ 'big.txt': v1Data, 'small.txt': 'one' });
      const v2 = repo.commit({ 'big.txt': `${v1Data}changed`, 'small.txt': 'two' });
      const root = join(base, `rollback-${counter++}`);
      for (const to of [v1, v2]) {
        const s = await TargetSession.open({
          transport: transportFor(kind, root),
          stateDir: '.diffship',
          command: 'deploy',
        });
        try {
          await s.apply(await s.plan({ repo: repo.dir, to, mode: 'additive', onDrift: 'fail' }), repo.dir);
        } finally {
          await s.close();
        }
      }
      // The backup's copy holds v1's mtime; a restored file gets a fresh one.
      await new Promise((resolve) => setTimeout(resolve, 100));
      const start = Date.now();
      const { transport, calls } = recording(transportFor(kind, root));
      const s = await TargetSession.open({ transport, stateDir: '.diffship', command: 'rollback' });
      try {
        await s.rollback();
      } finally {
        await s.close();
      }
      expect(readFileSync(join(root, 'big.txt'), 'utf8')).toBe(v1Data);
      expect(readFileSync(join(root, 'small.txt'), 'utf8')).toBe('one');
      expect(statSync(join(root, 'big.txt')).mtimeMs).toBeGreaterThanOrEqual(start - 50);
      const backupReads = calls.filter((c) => c.op === 'readFile' && c.path.includes('/files/'));
      expect(backupReads).toEqual([]);
      // Locally streamed by offset; over SSH copied on the host by the file helper.
      const copy = kind === 'local' ? 'openRead' : 'copyFile';
      expect(calls.filter((c) => c.op === copy && c.path.includes('/files/')).length).toBe(2);
    } finally {
      repo.cleanup();
    }
  });
});
