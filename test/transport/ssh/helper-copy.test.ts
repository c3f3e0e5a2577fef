/**
 * copy (27): a file copied on the host by the file helper (copy-protocol.ts),
 * run here under `sh` as sshd would run it. Exact bytes at every size around
 * its 1 MiB reads, the mode exactly, an old file truncated; never from or to a
 * link or below a linked folder, never a folder or a FIFO; a file cut short
 * while copied refused; and a long copy heard from while it runs.
 */
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { createReadStream } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OP_COPY } from '../../../src/transport/ssh/copy-protocol.js';
import { FileHelper } from '../../helpers/file-helper.js';

const MIB = 1024 * 1024;

let root: string;
let helper: FileHelper;
beforeAll(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'diffship-helper-copy-'));
  helper = new FileHelper(root);
});
afterAll(async () => {
  expect(await helper.end()).toBe(0);
  expect(helper.stderr).toBe('');
  await fs.rm(root, { recursive: true, force: true });
});

/**
 * The helper's answer to copying `from` to `to` with `mode`: `ok <bytes>` or the errno. A part
 * line goes out when the clock's second changes: a short copy that crosses one may send one
 * (then of bytes copied so far), never more; `parts` is left out once checked.
 */
async function copy(from: string, to: string, mode = 0o644) {
  const a = await helper.send(OP_COPY, from, { b: to, mode });
  if (!a.ok) return { errno: a.errno, message: a.message };
  expect(a.parts.length, `${from}: parts of a short copy`).toBeLessThanOrEqual(1);
  for (const part of a.parts) expect(Number(part)).toBeLessThanOrEqual(Number(a.payload));
  return { ok: a.payload };
}

describe('the file helper copies a file on the host', () => {
  it('copies exact bytes at every size around its reads, sets the mode exactly, truncates an old file', async () => {
    for (const size of [0, 1, MIB - 1, MIB, MIB + 1, 3 * MIB + 5]) {
      const data = randomBytes(size);
      await fs.writeFile(path.join(root, `f${size}`), data);
      expect(await copy(`f${size}`, `c${size}`, 0o775), String(size)).toEqual({ ok: String(size) });
      expect((await fs.readFile(path.join(root, `c${size}`))).equals(data), String(size)).toBe(true);
      // Group-writable: set exactly, not as open() left it under the umask (022 here).
      expect((await fs.stat(path.join(root, `c${size}`))).mode & 0o7777).toBe(0o775);
    }
    // An existing longer file is truncated, and its inode written (not replaced: the caller's staging renames).
    await fs.writeFile(path.join(root, 'old'), randomBytes(2 * MIB));
    const ino = (await fs.stat(path.join(root, 'old'))).ino;
    expect(await copy('f1', 'old', 0o600)).toEqual({ ok: '1' });
    expect(await fs.readFile(path.join(root, 'old'))).toEqual(await fs.readFile(path.join(root, 'f1')));
    expect((await fs.stat(path.join(root, 'old'))).ino).toBe(ino);
    // Asked to fsync (SYNC_FLAG, 0o200000): the same copy.
    expect(await copy(`f${MIB + 1}`, 'synced', 0o664 | 0o200000)).toEqual({ ok: String(MIB + 1) });
    expect((await fs.stat(path.join(root, 'synced'))).mode & 0o7777).toBe(0o664);
  });

  it('never from or to a link, nor below a linked folder; never from a folder or a FIFO', async () => {
    const outside = await fs.mkdtemp(path.join(os.tmpdir(), 'diffship-helper-copy-out-'));
    try {
      await fs.writeFile(path.join(outside, 'secret'), 'outside the target\n');
      await fs.symlink(path.join(outside, 'secret'), path.join(root, 'link'));
      await fs.symlink(outside, path.join(root, 'linked-dir'));
      await fs.mkdir(path.join(root, 'dir'));
      await fs.writeFile(path.join(root, 'plain'), 'plain\n');
      execFileSync('mkfifo', [path.join(root, 'fifo')]);
      expect(await copy('link', 'x1')).toMatchObject({ errno: 'ELOOP' });
      expect(await copy('linked-dir/secret', 'x2')).toMatchObject({ errno: 'ELOOP' });
      expect(await copy('dir', 'x3')).toMatchObject({ errno: 'EISDIR' });
      expect(await copy('fifo', 'x4')).toMatchObject({ errno: 'EINVAL' });
      expect(await copy('missing', 'x5')).toMatchObject({ errno: 'ENOENT' });
      // Written through neither a link nor a linked folder: what is outside stays as it was.
      expect(await copy('plain', 'link')).toMatchObject({ errno: 'ELOOP' });
      expect(await copy('plain', 'linked-dir/secret')).toMatchObject({ errno: 'ELOOP' });
      expect(await fs.readFile(path.join(outside, 'secret'), 'utf8')).toBe('outside the target\n');
      for (const made of ['x1', 'x2', 'x3', 'x4', 'x5'])
        await expect(fs.lstat(path.join(root, made)), made).rejects.toMatchObject({ code: 'ENOENT' });
      // Still in step after the refusals.
      expect(await copy('plain', 'after')).toEqual({ ok: '6' });
    } finally {
      await fs.rm(outside, { recursive: true, force: true });
    }
  });

  it('is heard from while a long copy runs, and refuses a file cut short while copied', async () => {
    // The copy writes into a FIFO this test reads: it goes only as fast as the test lets it.
    await fs.writeFile(path.join(root, 'shrinks'), randomBytes(3 * MIB));
    execFileSync('mkfifo', [path.join(root, 'slow')]);
    const answer = helper.send(OP_COPY, 'shrinks', { b: 'slow', mode: 0o644 });
    const reader = createReadStream(path.join(root, 'slow'));
    let got = 0;
    const drained = new Promise<void>((resolve, reject) => {
      reader.on('data', (chunk) => (got += chunk.length));
      reader.on('end', resolve);
      reader.on('error', reject);
    });
    // Held after the first bytes: the helper waits in its first write (1 MiB into a 64 KiB pipe).
    reader.pause();
    await new Promise((resolve) => setTimeout(resolve, 1100));
    // Cut short meanwhile: the helper's next read finds the end at 1 MiB, not at 3.
    await fs.truncate(path.join(root, 'shrinks'), MIB);
    reader.resume();
    await drained;
    const a = await answer;
    expect(a.ok ? a.payload : [a.errno, a.message]).toEqual([
      'ESHORT',
      `the file is ${MIB} bytes, it was ${3 * MIB} when opened: it changed while copied`,
    ]);
    // More than a second went by while it copied: it said how far it got.
    expect(a.parts).toEqual([String(MIB)]);
    expect(got).toBe(MIB);
  });
});
