/**
 * The paths an SSH target has written without a sync (unsynced-paths.ts), and the syncs ahead
 * that let a deploy drop them once a syncfs has made them durable (sync-written.ts): pure logic
 * here, with a scripted host; then a real sshd, where 20,000 files written in bulk leave far
 * fewer paths held than files, and the final sync still makes them all durable.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UnsyncedPaths } from '../../../src/transport/ssh/unsynced-paths.js';
import { SYNC_AHEAD_PATHS, syncAheadOf } from '../../../src/transport/ssh/sync-written.js';
import { OpError, type SshOps } from '../../../src/transport/ssh/perl-helper-client.js';
import { SshTransport } from '../../../src/transport/ssh/ssh-transport.js';
import { startSshd, type Sshd } from '../../helpers/sshd.js';
import { tempDir } from '../../helpers/git.js';

describe('unsynced paths', () => {
  it('drops what a sync started after them covers, never a path written again since', () => {
    const u = new UnsyncedPaths();
    u.add('a');
    u.add('b');
    const mark = u.mark();
    u.add('c');
    u.add('a'); // written again after the sync started: its new bytes are not covered
    u.synced(mark);
    expect(u.take().sort()).toEqual(['a', 'c']);
    expect(u.size).toBe(0);
  });

  it('follows a rename (unsynced under the new name, the rename too), and ignores one of a synced file', () => {
    const u = new UnsyncedPaths();
    u.add('tmp.json');
    const mark = u.mark();
    u.renamed('tmp.json', 'state.json');
    u.renamed('never-written', 'x');
    u.synced(mark);
    expect(u.take()).toEqual(['state.json']);
  });
});

describe('syncs ahead', () => {
  /** A host whose syncfs answers as `answers` say, in turn; records what it was asked. */
  function host(answers: Array<'ok' | 'refused' | 'gone'>) {
    const asked: string[] = [];
    const waiting: Array<() => void> = [];
    const ops = {
      channel: () => Promise.resolve({}),
      run: (_h: unknown, _op: number, rel: string) => {
        asked.push(rel);
        const answer = answers.shift() ?? 'ok';
        return new Promise<string>((resolve, reject) =>
          waiting.push(() =>
            answer === 'ok'
              ? resolve('')
              : reject(answer === 'refused' ? new OpError('ENOSYS', 'sync -f failed') : new Error('gone')),
          ),
        );
      },
    } as unknown as SshOps;
    const settle = async () => {
      for (const f of waiting.splice(0)) f();
      await new Promise((r) => setImmediate(r));
    };
    return { ops, asked, settle };
  }
  const tick = () => new Promise((r) => setImmediate(r));
  const fill = (u: UnsyncedPaths, n: number, prefix: string) => {
    for (let i = 0; i < n; i++) u.add(`${prefix}${i}`);
  };

  it('one at a time, once enough paths wait; a done syncfs drops the paths it covers', async () => {
    const u = new UnsyncedPaths();
    const h = host(['ok', 'ok']);
    const ahead = syncAheadOf(() => h.ops, u);
    fill(u, SYNC_AHEAD_PATHS - 1, 'a');
    ahead();
    await tick();
    expect(h.asked).toEqual([]);
    u.add('last');
    ahead();
    ahead(); // one in flight: not another
    fill(u, 5, 'later');
    await tick();
    expect(h.asked).toEqual(['']); // a syncfs: the empty list
    await h.settle();
    // The 5 written after it started stay.
    expect(u.size).toBe(5);
  });

  it('a refusal stops them and keeps every path (the final sync fsyncs each); a lost helper only keeps them', async () => {
    const lost = new UnsyncedPaths();
    const h1 = host(['gone', 'ok']);
    const ahead1 = syncAheadOf(() => h1.ops, lost);
    fill(lost, SYNC_AHEAD_PATHS, 'p');
    ahead1();
    await tick();
    await h1.settle();
    expect(lost.size).toBe(SYNC_AHEAD_PATHS);
    ahead1(); // asked again next time
    await tick();
    expect(h1.asked).toHaveLength(2);

    const refused = new UnsyncedPaths();
    const h2 = host(['refused']);
    const ahead2 = syncAheadOf(() => h2.ops, refused);
    fill(refused, SYNC_AHEAD_PATHS, 'p');
    ahead2();
    await tick();
    await h2.settle();
    fill(refused, SYNC_AHEAD_PATHS, 'q');
    ahead2();
    await tick();
    expect(h2.asked).toHaveLength(1);
    expect(refused.size).toBe(2 * SYNC_AHEAD_PATHS);
  });
});

describe('bulk writes over a real sshd', () => {
  let sshd: Sshd;
  let base: string;
  beforeAll(async () => {
    sshd = await startSshd();
    base = tempDir('diffship-ssh-unsynced-');
  });
  afterAll(async () => {
    await sshd?.stop();
    fs.rmSync(base, { recursive: true, force: true });
  });

  it('20,000 files written unsynced: their paths are dropped as syncs ahead cover them, and all end durable', async () => {
    const root = path.join(base, 't');
    fs.mkdirSync(path.join(root, 'd'), { recursive: true });
    const t = new SshTransport(sshd.sshOptions(), root);
    await t.connect();
    try {
      const held = () => (t as unknown as { files: { unsynced: UnsyncedPaths } }).files.unsynced.size;
      const FILES = 20_000;
      let most = 0;
      for (let at = 0; at < FILES; at += 500) {
        const batch = Array.from({ length: 500 }, (_, k) => ({
          rel: `d/f${at + k}`,
          mode: 0o644,
          data: Buffer.from(`file ${at + k}\n`),
        }));
        expect(await t.writeMany(batch, 'sha1')).toHaveLength(500);
        most = Math.max(most, held());
      }
      // Without the syncs ahead every path waits for the final sync: 20,000.
      expect(most).toBeLessThan(FILES);
      expect(most).toBeGreaterThanOrEqual(SYNC_AHEAD_PATHS);
      expect(held()).toBeLessThan(FILES);
      await t.syncWritten();
      expect(held()).toBe(0);
      expect(fs.readdirSync(path.join(root, 'd'))).toHaveLength(FILES);
      expect(fs.readFileSync(path.join(root, 'd', 'f19999'), 'utf8')).toBe('file 19999\n');
    } finally {
      await t.close();
    }
  }, 120_000);
});
