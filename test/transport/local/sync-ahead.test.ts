/**
 * The local target's sync ahead (sync-ahead.ts): while writeMany's batches go on, one `sync -f`
 * of the target's file system at a time, so the commit's final sync has little left. The rule on
 * its own (when one starts, never two at once, close waits for it), then a real target writing
 * 5,000 files through the writer thread, with a `sync` on PATH that logs its arguments and runs
 * the real one.
 */
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYNC_AHEAD_FILES, SyncAhead } from '../../../src/transport/local/sync-ahead.js';
import { LocalTransport } from '../../../src/transport/local/local-transport.js';
import { tempDir } from '../../helpers/git.js';

let base: string;
beforeAll(() => {
  base = tempDir('diffship-sync-ahead-');
});
afterAll(() => rmSync(base, { recursive: true, force: true }));

/** A sync whose end the test decides. */
function gated(): { sync: () => Promise<void>; calls: number; finish: () => void } {
  const ends: Array<() => void> = [];
  const g = {
    calls: 0,
    sync: () => {
      g.calls++;
      return new Promise<void>((resolve) => ends.push(resolve));
    },
    finish: () => ends.shift()?.(),
  };
  return g;
}

describe('SyncAhead', () => {
  it('starts one sync once SYNC_AHEAD_FILES wait, never a second while it runs, the next after it', async () => {
    const g = gated();
    const ahead = new SyncAhead(g.sync);
    ahead.wrote(SYNC_AHEAD_FILES - 1);
    expect(g.calls).toBe(0);
    ahead.wrote(1);
    expect(g.calls).toBe(1);
    ahead.wrote(SYNC_AHEAD_FILES * 3);
    expect(g.calls).toBe(1);
    g.finish();
    await new Promise((resolve) => setImmediate(resolve));
    // What was written while it ran (more than a step) starts the next with the next batch.
    ahead.wrote(1);
    expect(g.calls).toBe(2);
    g.finish();
    await new Promise((resolve) => setImmediate(resolve));
    // Then a full step again.
    ahead.wrote(SYNC_AHEAD_FILES - 1);
    expect(g.calls).toBe(2);
    ahead.wrote(1);
    expect(g.calls).toBe(3);
    expect(ahead.started).toBe(3);
    g.finish();
    await ahead.idle();
  });

  it('reset (the final sync runs) starts the count over; a failed sync ahead is only not done', async () => {
    let calls = 0;
    const ahead = new SyncAhead(() => {
      calls++;
      return Promise.reject(new Error('sync: not here'));
    });
    ahead.wrote(SYNC_AHEAD_FILES - 1);
    ahead.reset();
    ahead.wrote(SYNC_AHEAD_FILES - 1);
    expect(calls).toBe(0);
    ahead.wrote(1);
    expect(calls).toBe(1);
    await ahead.idle();
    ahead.wrote(SYNC_AHEAD_FILES);
    expect(calls).toBe(2);
    await ahead.idle();
  });

  it('idle waits for the sync that runs', async () => {
    const g = gated();
    const ahead = new SyncAhead(g.sync);
    ahead.wrote(SYNC_AHEAD_FILES);
    let idle = false;
    const waiting = ahead.idle().then(() => (idle = true));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(idle).toBe(false);
    g.finish();
    await waiting;
    expect(idle).toBe(true);
  });
});

describe('LocalTransport: sync ahead of writeMany', () => {
  it('runs `sync -f <target>` while 5,000 files are written in batches; close waits for it', async () => {
    const bin = join(base, 'bin');
    const log = join(base, 'sync.log');
    mkdirSync(bin, { recursive: true });
    // Logs its arguments, then syncs for real (the transport's final sync goes through it too).
    writeFileSync(join(bin, 'sync'), `#!/bin/sh\necho "$@" >> '${log}'\nexec /bin/sync "$@"\n`);
    chmodSync(join(bin, 'sync'), 0o755);
    const path = process.env.PATH;
    process.env.PATH = `${bin}:${path}`;
    const root = join(base, 'target');
    const t = new LocalTransport(root);
    try {
      await t.connect({ create: true });
      mkdirSync(join(root, 'd'));
      for (let b = 0; b < 10; b++) {
        const files = Array.from({ length: 500 }, (_, i) => ({
          rel: `d/f${b * 500 + i}`,
          mode: 0o644,
          data: Buffer.from(`file ${b * 500 + i}\n`),
        }));
        await t.writeMany(files, 'sha1');
      }
      expect(t.syncAhead.started).toBe(1);
      await t.close();
      const lines = readFileSync(log, 'utf8').trim().split('\n');
      expect(lines).toEqual([`-f ${root}`]);
    } finally {
      process.env.PATH = path;
      await t.close();
    }
  });
});
