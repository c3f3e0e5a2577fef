/**
 * LocalTransport.writeMany: a big staging's batches written and hashed by the target's writer
 * thread (writer-thread.ts) while the event loop goes on. Each file exact (bytes and mode), its
 * git blob id returned; never through a link, at the end or above; a failure names the file and
 * stops the batch there; several open targets write one by one instead (null). Real folders.
 */
import { execFileSync } from 'node:child_process';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalTransport } from '../../../src/transport/local/local-transport.js';
import { gitBlobId } from '../../../src/diff/blob.js';
import { tempDir } from '../../helpers/git.js';
import { makeRepo, snapshot, type Tree } from '../../helpers/repo.js';
import { recording } from '../../helpers/recording.js';
import { TargetSession } from '../../../src/apply/session.js';
import { LOCAL_BULK_MIN } from '../../../src/apply/stage-bulk.js';

let base: string;
beforeAll(() => {
  base = tempDir('diffship-write-many-');
});
afterAll(() => rmSync(base, { recursive: true, force: true }));

let counter = 0;
async function target(): Promise<{ t: LocalTransport; root: string }> {
  const root = join(base, `t${counter++}`);
  const t = new LocalTransport(root);
  await t.connect({ create: true });
  return { t, root };
}

/** 300 files in 10 folders: sizes 0 to ~12 KiB, three modes. */
function batch(): Array<{ rel: string; mode: number; data: Buffer }> {
  return Array.from({ length: 300 }, (_, i) => ({
    rel: `d${i % 10}/f${i}.txt`,
    mode: [0o644, 0o755, 0o600][i % 3]!,
    data: Buffer.from(`file ${i}\n`.repeat(i * 4)),
  }));
}

describe('LocalTransport.writeMany', () => {
  it('writes every file exactly, with exactly its mode, and returns git blob ids (sha1 and sha256)', async () => {
    const { t, root } = await target();
    try {
      for (let d = 0; d < 10; d++) mkdirSync(join(root, `d${d}`));
      // One file there already: it is replaced, never appended to.
      writeFileSync(join(root, 'd0/f0.txt'), 'an old, longer content that must go\n');
      const files = batch();
      const ids = await t.writeMany(files, 'sha1');
      expect(ids).toEqual(files.map((f) => gitBlobId(f.data, 'sha1')));
      for (const f of files) {
        expect(readFileSync(join(root, f.rel)).equals(f.data)).toBe(true);
        expect(statSync(join(root, f.rel)).mode & 0o7777).toBe(f.mode);
      }
      const again = await t.writeMany(files.slice(0, 5), 'sha256');
      expect(again).toEqual(files.slice(0, 5).map((f) => gitBlobId(f.data, 'sha256')));
    } finally {
      await t.close();
    }
  });

  it('refuses a link where a file goes: E_UNSAFE naming it, the link and what it points at untouched, the batch stopped there', async () => {
    const { t, root } = await target();
    try {
      mkdirSync(join(root, 'd'));
      writeFileSync(join(base, `outside-${counter}`), 'outside\n');
      symlinkSync(join(base, `outside-${counter}`), join(root, 'd/f2'));
      const files = [0, 1, 2, 3].map((i) => ({ rel: `d/f${i}`, mode: 0o644, data: Buffer.from(`${i}\n`) }));
      await expect(t.writeMany(files, 'sha1')).rejects.toMatchObject({
        code: 'E_UNSAFE',
        message: expect.stringContaining('"d/f2"'),
      });
      expect(readFileSync(join(base, `outside-${counter}`), 'utf8')).toBe('outside\n');
      expect(lstatSync(join(root, 'd/f2')).isSymbolicLink()).toBe(true);
      expect(readlinkSync(join(root, 'd/f2'))).toBe(join(base, `outside-${counter}`));
      expect(readFileSync(join(root, 'd/f1'), 'utf8')).toBe('1\n');
      expect(existsSync(join(root, 'd/f3'))).toBe(false);
    } finally {
      await t.close();
    }
  });

  it('refuses a link above the files before writing any: E_UNSAFE', async () => {
    const { t, root } = await target();
    try {
      mkdirSync(join(base, `elsewhere-${counter}`));
      mkdirSync(join(root, 'ok'));
      symlinkSync(join(base, `elsewhere-${counter}`), join(root, 'linked'));
      const files = [
        { rel: 'ok/a', mode: 0o644, data: Buffer.from('a\n') },
        { rel: 'linked/b', mode: 0o644, data: Buffer.from('b\n') },
      ];
      await expect(t.writeMany(files, 'sha1')).rejects.toMatchObject({ code: 'E_UNSAFE' });
      expect(existsSync(join(root, 'ok/a'))).toBe(false);
      expect(execFileSync('ls', ['-A', join(base, `elsewhere-${counter}`)], { encoding: 'utf8' })).toBe('');
    } finally {
      await t.close();
    }
  });

  it('a missing folder: E_TRANSPORT naming the file and ENOENT', async () => {
    const { t } = await target();
    try {
      await expect(
        t.writeMany([{ rel: 'nowhere/x', mode: 0o644, data: Buffer.from('x') }], 'sha1'),
      ).rejects.toMatchObject({
        code: 'E_TRANSPORT',
        message: expect.stringMatching(/"nowhere\/x".*ENOENT/),
      });
    } finally {
      await t.close();
    }
  });

  it('a batch still being written when the target closes fails with E_TRANSPORT, not silence', async () => {
    const { t, root } = await target();
    mkdirSync(join(root, 'd'));
    const files = Array.from({ length: 3000 }, (_, i) => ({
      rel: `d/f${i}`,
      mode: 0o644,
      data: Buffer.alloc(4096, i % 256),
    }));
    const writing = t.writeMany(files, 'sha1');
    await t.close();
    await expect(writing).rejects.toMatchObject({
      code: 'E_TRANSPORT',
      message: expect.stringContaining('writer thread was closed'),
    });
  });

  it('while several local targets are open, answers null: each file goes one by one through the threadpool', async () => {
    const a = await target();
    const b = await target();
    try {
      expect(await a.t.writeMany([{ rel: 'x', mode: 0o644, data: Buffer.from('x') }], 'sha1')).toBeNull();
      expect(existsSync(join(a.root, 'x'))).toBe(false);
    } finally {
      await a.t.close();
      await b.t.close();
    }
    // One open again: written by the thread.
    const c = await target();
    try {
      expect(await c.t.writeMany([{ rel: 'y', mode: 0o640, data: Buffer.from('y') }], 'sha1')).toEqual([
        gitBlobId(Buffer.from('y')),
      ]);
      expect(statSync(join(c.root, 'y')).mode & 0o7777).toBe(0o640);
    } finally {
      await c.t.close();
    }
  });

  /** A local deploy of `files` files and a script; its batches and the staging's one-by-one writes, counted. */
  async function deployFiles(files: number) {
    const repo = makeRepo();
    const root = join(base, `deploy-${counter++}`);
    try {
      const tree: Tree = {};
      for (let i = 0; i < files; i++) tree[`app/d${i % 7}/f${i}.txt`] = `file ${i}\n`.repeat(i % 100);
      tree['app/run.sh'] = { content: '#!/bin/sh\n', mode: 0o755 };
      const to = repo.commit(tree);
      const { transport, calls } = recording(new LocalTransport(root));
      const s = await TargetSession.open({ transport, stateDir: '.diffship', command: 'deploy' });
      try {
        await s.apply(await s.plan({ repo: repo.dir, to, mode: 'additive', onDrift: 'fail' }), repo.dir);
      } finally {
        await s.close();
      }
      expect(snapshot(root)).toEqual(snapshot(repo.dir, ['.git']));
      expect(existsSync(join(root, '.diffship/staging'))).toBe(false);
      const staged = calls
        .filter((c) => c.op === 'writeStream' || c.op === 'writeFile')
        .filter((c) => c.path.includes('/staging/'));
      return { batches: calls.filter((c) => c.op === 'writeMany').length, staged: staged.length };
    } finally {
      repo.cleanup();
    }
  }

  it('is how a local deploy of LOCAL_BULK_MIN files stages them (in batches, none one by one): the tree exact, staging gone', async () => {
    const { batches, staged } = await deployFiles(LOCAL_BULK_MIN - 1); // and the script: exactly LOCAL_BULK_MIN
    expect(batches).toBeGreaterThan(1);
    expect(staged).toBe(0);
  });

  it('is not how a local deploy of fewer files stages them: one by one, no writer thread started (its start costs more)', async () => {
    const { batches, staged } = await deployFiles(100);
    expect(batches).toBe(0);
    expect(staged).toBe(101);
  });
});
