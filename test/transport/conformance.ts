/**
 * The Transport contract, written once and run against every implementation
 * (local.test.ts, ssh.test.ts). Each run gets a fresh target folder that is
 * also reachable on this machine as `root`, so tests can set up and inspect
 * the target with node:fs directly (the test sshd runs on 127.0.0.1).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { HashAlgorithm } from '../../src/diff/blob.js';
import type { DiffshipError } from '../../src/errors.js';
import type { ByteSource, Transport } from '../../src/transport/transport.js';
import { processAlive } from '../helpers/processes.js';

interface TransportFixture {
  transport: Transport;
  close(): Promise<void>;
}

/** Make a transport whose root is the local folder `root` (not yet connected). */
export type MakeTransport = (root: string) => Promise<TransportFixture> | TransportFixture;

/** Names that break naive quoting or parsing. Each is one path segment. */
export const HOSTILE_NAMES = [
  'with space.txt',
  'ünïcødé ✓.txt',
  'new\nline.txt',
  '-leading-dash',
  'it\'s "quoted".txt',
  '$(touch pwned) `x` ;rm -rf.txt',
  'back\\slash',
  '*glob?[x]',
  '  ',
];

let sha256Repo: string | undefined;

/** Where git hashes as `algorithm` does: here (sha1), or an empty SHA-256 repository made once. */
function gitCwd(algorithm: HashAlgorithm): string | undefined {
  if (algorithm === 'sha1') return undefined;
  if (!sha256Repo) {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'diffship-sha256-git-'));
    execFileSync('git', ['init', '-q', '--object-format=sha256', dir]);
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    sha256Repo = dir;
  }
  return sha256Repo;
}

/** git's blob id of a file, by git itself (in a SHA-256 repository for `sha256`). */
export function gitHashObject(file: string, algorithm: HashAlgorithm = 'sha1'): string {
  return execFileSync('git', ['hash-object', '--no-filters', '--', file], {
    cwd: gitCwd(algorithm),
    encoding: 'utf8',
  }).trim();
}

/** git's blob id of some bytes (a symlink's text), by git itself (in a SHA-256 repository for `sha256`). */
export function gitHashBytes(data: string | Buffer, algorithm: HashAlgorithm = 'sha1'): string {
  return execFileSync('git', ['hash-object', '--stdin'], {
    cwd: gitCwd(algorithm),
    input: data,
    encoding: 'utf8',
  }).trim();
}

async function expectCode(promise: Promise<unknown>, code: string): Promise<DiffshipError> {
  const error = (await promise.then(
    () => {
      throw new Error(`expected a rejection with ${code}`);
    },
    (e: unknown) => e,
  )) as DiffshipError;
  expect(error.code, error.message).toBe(code);
  return error;
}

/** Bytes no compressor shrinks much, different at every offset (a shifted chunk shows). */
export function noise(size: number, seed: number): Buffer {
  const b = Buffer.alloc(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

/**
 * A ByteSource over `data` in chunks of uneven sizes (as pipe reads come). `failAfter`: throw
 * `error` once that many bytes were given; `size`: announce another size than `data` has.
 */
export function sourceOf(
  data: Buffer,
  options: { failAfter?: number; error?: Error; size?: number; whole?: boolean } = {},
): ByteSource & { stopped: boolean; iterated: boolean } {
  const source = {
    size: options.size ?? data.length,
    stopped: false,
    iterated: false,
    // `whole`: the bytes at once, as a small blob gives them (ByteSource.whole); a failing read throws.
    ...(options.whole
      ? {
          whole: () => {
            if (options.failAfter !== undefined) throw options.error;
            return data;
          },
        }
      : {}),
    async *[Symbol.asyncIterator]() {
      source.iterated = true;
      let at = 0;
      try {
        for (let i = 0; at < data.length; i++) {
          if (options.failAfter !== undefined && at >= options.failAfter) throw options.error;
          const n = [65536, 1000, 40000, 65536, 7][i % 5]!;
          yield data.subarray(at, at + n);
          at += n;
          if (i % 16 === 0) await new Promise((r) => setImmediate(r));
        }
      } finally {
        source.stopped = at < data.length;
      }
    },
  };
  return source;
}

export function describeTransport(name: string, make: MakeTransport): void {
  describe(`Transport conformance: ${name}`, () => {
    let base: string;
    let root: string;
    let fixture: TransportFixture;
    let t: Transport;

    beforeAll(async () => {
      base = await fs.mkdtemp(path.join(os.tmpdir(), 'diffship-transport-'));
    });
    afterAll(async () => {
      await fs.rm(base, { recursive: true, force: true });
    });
    let counter = 0;
    beforeEach(async () => {
      root = path.join(base, `t${counter++}`);
      await fs.mkdir(root);
      fixture = await make(root);
      t = fixture.transport;
      await t.connect();
    });
    afterEach(async () => {
      await fixture.close();
    });

    const at = (rel: string) => path.join(root, rel);

    describe('connect', () => {
      it('refuses a missing root unless asked to create it, and creates it then', async () => {
        const missing = path.join(base, `missing-${counter}`, 'deep');
        const other = await make(missing);
        try {
          const error = await expectCode(other.transport.connect(), 'E_CONNECT');
          expect(error.message).toContain('does not exist');
          await other.transport.connect({ create: true });
          expect((await fs.stat(missing)).isDirectory()).toBe(true);
          await other.transport.writeFile('x', Buffer.from('y'), 0o644);
          expect(await fs.readFile(path.join(missing, 'x'), 'utf8')).toBe('y');
        } finally {
          await other.close();
        }
      });

      it('refuses a root that is a file', async () => {
        const file = path.join(base, `file-${counter}`);
        await fs.writeFile(file, 'x');
        const other = await make(file);
        try {
          const error = await expectCode(other.transport.connect({ create: true }), 'E_CONNECT');
          expect(error.message).toContain('not a folder');
        } finally {
          await other.close();
        }
      });

      it('accepts a root that is a symlink to a folder, resolving it once', async () => {
        const real = path.join(base, `real-${counter}`);
        const link = path.join(base, `link-${counter}`);
        await fs.mkdir(real);
        await fs.symlink(real, link);
        const other = await make(link);
        try {
          await other.transport.connect();
          await other.transport.writeFile('through-root-link', Buffer.from('ok'), 0o644);
          expect(await fs.readFile(path.join(real, 'through-root-link'), 'utf8')).toBe('ok');
          const pwd = await other.transport.exec('pwd -P');
          expect(pwd.stdout.trim()).toBe(await fs.realpath(real));
        } finally {
          await other.close();
        }
      });
    });

    describe('files', () => {
      it('writes and reads files byte for byte, with exact modes despite the umask', async () => {
        const data = Buffer.from('hello\0world\n');
        await t.writeFile('a.txt', data, 0o644);
        await t.writeFile('run.sh', Buffer.from('#!/bin/sh\n'), 0o755);
        await t.writeFile('secret', Buffer.from('s'), 0o600);
        await t.writeFile('group', Buffer.from('g'), 0o664);
        expect(await fs.readFile(at('a.txt'))).toEqual(data);
        expect(await t.readFile('a.txt')).toEqual(data);
        expect((await fs.stat(at('run.sh'))).mode & 0o7777).toBe(0o755);
        expect((await fs.stat(at('secret'))).mode & 0o7777).toBe(0o600);
        expect((await fs.stat(at('group'))).mode & 0o7777).toBe(0o664);
      });

      it('truncates when overwriting and sets the new mode', async () => {
        await fs.writeFile(at('f'), 'a much longer old content');
        await fs.chmod(at('f'), 0o600);
        await t.writeFile('f', Buffer.from('new'), 0o755);
        expect(await fs.readFile(at('f'), 'utf8')).toBe('new');
        expect((await fs.stat(at('f'))).mode & 0o7777).toBe(0o755);
      });

      it('handles empty files and multi-megabyte files', async () => {
        const big = Buffer.alloc(3 * 1024 * 1024 + 17);
        for (let i = 0; i < big.length; i++) big[i] = (i * 7919) % 251;
        await t.writeFile('empty', Buffer.alloc(0), 0o644);
        await t.writeFile('big.bin', big, 0o644);
        expect((await fs.stat(at('empty'))).size).toBe(0);
        expect((await t.readFile('empty')).length).toBe(0);
        expect((await fs.readFile(at('big.bin'))).equals(big)).toBe(true);
        expect((await t.readFile('big.bin')).equals(big)).toBe(true);
      });

      it('writes many files concurrently', async () => {
        await t.mkdirp('many');
        const names = Array.from({ length: 300 }, (_, i) => `many/f${i}.txt`);
        await Promise.all(
          names.map((n, i) => t.writeFile(n, Buffer.from(`content ${i}\n`.repeat(i % 50)), 0o644)),
        );
        for (const [i, n] of names.entries())
          expect(await fs.readFile(at(n), 'utf8')).toBe(`content ${i}\n`.repeat(i % 50));
      });

      it('writes without fsync on request; syncWritten() keeps them whole and tolerates one removed meanwhile (the fsyncs themselves: local/sync-durable.test.ts, order: apply/faults.test.ts)', async () => {
        await t.syncWritten(); // nothing pending: a no-op
        await t.mkdirp('staged');
        const names = Array.from({ length: 50 }, (_, i) => `staged/${i}`);
        await Promise.all(names.map((n) => t.writeFile(n, Buffer.from(n), 0o640, { sync: false })));
        await t.unlink('staged/7'); // gone before the sync: not an error
        await t.syncWritten();
        for (const n of names.filter((n) => n !== 'staged/7')) {
          expect(await fs.readFile(at(n), 'utf8')).toBe(n);
          expect((await fs.stat(at(n))).mode & 0o7777).toBe(0o640);
        }
        await t.syncWritten();
      });

      it('fails to write when the parent folder is missing', async () => {
        await expectCode(t.writeFile('no/such/dir/f', Buffer.from('x'), 0o644), 'E_TRANSPORT');
      });

      it('reads at most `limit` bytes: a bigger file is refused naming the path and the limit, never read into memory', async () => {
        // Both sides of SSH's 1 MiB peek: a small file comes in the peek, a bigger one in the helper's read.
        for (const size of [100, 2 * 1024 * 1024 + 3]) {
          const data = noise(size, size);
          await fs.writeFile(at(`limited-${size}`), data);
          expect((await t.readFile(`limited-${size}`, size)).equals(data)).toBe(true);
          const error = await expectCode(t.readFile(`limited-${size}`, size - 1), 'E_TRANSPORT');
          expect(error.message).toContain(`limited-${size}`);
          expect(error.message).toMatch(/more than the (99 bytes|2\.0 MiB) diffship reads of it/);
        }
        // A sparse 1 GiB file costs the disk nothing: read whole, it would cost this process 1 GiB.
        await fs.writeFile(at('sparse'), '');
        await fs.truncate(at('sparse'), 1024 ** 3);
        const before = process.memoryUsage().rss;
        const error = await expectCode(t.readFile('sparse', 1024 * 1024), 'E_TRANSPORT');
        expect(error.message).toMatch(/it is 1 GiB, more than the 1 MiB diffship reads of it/);
        expect(process.memoryUsage().rss - before).toBeLessThan(200 * 1024 * 1024);
        await fs.rm(at('sparse'));
      });

      it('never reads through a symlink, at the name or on its path; never a FIFO or a folder', async () => {
        const outside = await fs.mkdtemp(path.join(os.tmpdir(), 'diffship-conf-read-out-'));
        try {
          await fs.writeFile(path.join(outside, 'secret'), 'outside the target\n');
          await fs.symlink(path.join(outside, 'secret'), at('read-link'));
          await fs.symlink(outside, at('read-linked-dir'));
          for (const rel of ['read-link', 'read-linked-dir/secret']) {
            const error = await expectCode(t.readFile(rel), 'E_UNSAFE');
            expect(error.message).toContain(rel);
            expect(error.message).not.toContain('outside the target');
          }
          // A FIFO would block a plain open until a writer came: refused at once instead.
          execFileSync('mkfifo', [at('read-fifo')]);
          await fs.mkdir(at('read-dir'));
          for (const rel of ['read-fifo', 'read-dir']) {
            const error = (await t.readFile(rel).then(
              () => null,
              (e: unknown) => e,
            )) as DiffshipError | null;
            expect(error?.code, rel).toMatch(/^E_(TRANSPORT|UNSAFE)$/);
            expect(error?.message).toContain(rel);
          }
        } finally {
          await fs.rm(outside, { recursive: true, force: true });
        }
      });

      it('reads a missing file as E_TRANSPORT naming the path', async () => {
        const error = await expectCode(t.readFile('nope.txt'), 'E_TRANSPORT');
        expect(error.message).toContain('nope.txt');
      });

      it('lstat reports type, mode, size and mtime, never following symlinks', async () => {
        await fs.writeFile(at('f'), '12345');
        await fs.chmod(at('f'), 0o640);
        await fs.mkdir(at('d'));
        await fs.symlink('f', at('link'));
        await fs.symlink('/etc', at('abs-link'));
        const f = await t.lstat('f');
        expect(f).toMatchObject({ type: 'file', mode: 0o640, size: 5 });
        expect(Math.abs(f!.mtimeMs - (await fs.stat(at('f'))).mtimeMs)).toBeLessThan(1000);
        expect((await t.lstat('d'))?.type).toBe('dir');
        expect(await t.lstat('link')).toMatchObject({ type: 'symlink', size: 1 });
        expect((await t.lstat('abs-link'))?.type).toBe('symlink');
        expect(await t.lstat('missing')).toBeNull();
        expect(await t.lstat('f/below-a-file')).toBeNull();
        expect((await t.lstat(''))?.type).toBe('dir');
      });

      it('creates and reads symlinks without checking their targets', async () => {
        await t.symlink('../outside/target', 'rel-link');
        await t.symlink('sub dir/ü', 'odd-link');
        expect(await fs.readlink(at('rel-link'))).toBe('../outside/target');
        expect(await t.readlink('rel-link')).toBe('../outside/target');
        expect(await t.readlink('odd-link')).toBe('sub dir/ü');
      });

      it('chmod changes the mode and refuses symlinks', async () => {
        await fs.writeFile(at('f'), 'x');
        await t.chmod('f', 0o700);
        expect((await fs.stat(at('f'))).mode & 0o7777).toBe(0o700);
        await fs.writeFile(at('victim'), 'v');
        await fs.chmod(at('victim'), 0o644);
        await fs.symlink('victim', at('l'));
        await expectCode(t.chmod('l', 0o777), 'E_UNSAFE');
        expect((await fs.stat(at('victim'))).mode & 0o7777).toBe(0o644);
      });

      it('rename replaces an existing file atomically and moves folders', async () => {
        await fs.writeFile(at('new'), 'new content');
        await fs.writeFile(at('old'), 'old content');
        await t.rename('new', 'old');
        expect(await fs.readFile(at('old'), 'utf8')).toBe('new content');
        await expect(fs.stat(at('new'))).rejects.toThrow();
        await fs.mkdir(at('dir1'));
        await fs.writeFile(at('dir1/x'), 'x');
        await t.rename('dir1', 'dir2');
        expect(await fs.readFile(at('dir2/x'), 'utf8')).toBe('x');
      });

      it('rename replaces a symlink instead of writing through it', async () => {
        await fs.writeFile(at('victim'), 'untouched');
        await fs.symlink('victim', at('link'));
        await fs.writeFile(at('staged'), 'staged');
        await t.rename('staged', 'link');
        expect(await fs.readFile(at('victim'), 'utf8')).toBe('untouched');
        expect((await fs.lstat(at('link'))).isFile()).toBe(true);
      });

      it('rename of a missing file fails naming both paths', async () => {
        const error = await expectCode(t.rename('ghost', 'dest'), 'E_TRANSPORT');
        expect(error.message).toContain('ghost');
      });

      it('link makes a second name for the same file, or says it cannot', async () => {
        await fs.writeFile(at('f'), 'data');
        const linked = await t.link('f', 'f2');
        if (linked) {
          expect((await fs.stat(at('f2'))).ino).toBe((await fs.stat(at('f'))).ino);
        } else {
          await expect(fs.stat(at('f2'))).rejects.toThrow();
        }
        expect(linked).toBe(true); // both transports support hard links on this machine's file system
        await fs.writeFile(at('taken'), 't');
        await expect(t.link('f', 'taken')).rejects.toMatchObject({ code: 'E_TRANSPORT' });
        expect(await fs.readFile(at('taken'), 'utf8')).toBe('t');
      });

      it('createExclusive creates once and never overwrites', async () => {
        expect(await t.createExclusive('lock', Buffer.from('first'), 0o600)).toBe(true);
        expect(await t.createExclusive('lock', Buffer.from('second'))).toBe(false);
        expect(await fs.readFile(at('lock'), 'utf8')).toBe('first');
        expect((await fs.stat(at('lock'))).mode & 0o7777).toBe(0o600);
        await fs.symlink('lock', at('lock-link'));
        expect(await t.createExclusive('lock-link', Buffer.from('x'))).toBe(false);
        expect(await fs.readFile(at('lock'), 'utf8')).toBe('first');
      });

      it('createExclusive lets exactly one of many concurrent callers win', async () => {
        const wins = await Promise.all(
          Array.from({ length: 10 }, (_, i) => t.createExclusive('race', Buffer.from(String(i)))),
        );
        expect(wins.filter(Boolean)).toHaveLength(1);
        expect(await fs.readFile(at('race'), 'utf8')).toBe(String(wins.indexOf(true)));
      });

      it('mkdirp creates nested folders, accepts existing ones, fails through a file', async () => {
        await t.mkdirp('a/b/c');
        expect((await fs.stat(at('a/b/c'))).isDirectory()).toBe(true);
        await t.mkdirp('a/b/c');
        await t.mkdirp('a');
        await Promise.all([t.mkdirp('p/q/r'), t.mkdirp('p/q/s'), t.mkdirp('p/q')]);
        expect((await fs.readdir(at('p/q'))).sort()).toEqual(['r', 's']);
        await fs.writeFile(at('file'), 'x');
        await expectCode(t.mkdirp('file/sub'), 'E_TRANSPORT');
        await expectCode(t.mkdirp('file'), 'E_TRANSPORT');
      });

      it('unlink removes files and symlinks (not their targets); missing is fine', async () => {
        await fs.writeFile(at('f'), 'x');
        await fs.writeFile(at('target'), 't');
        await fs.symlink('target', at('l'));
        await t.unlink('f');
        await t.unlink('l');
        await t.unlink('never-existed');
        await expect(fs.lstat(at('f'))).rejects.toThrow();
        await expect(fs.lstat(at('l'))).rejects.toThrow();
        expect(await fs.readFile(at('target'), 'utf8')).toBe('t');
      });

      it('rmdir removes only empty folders', async () => {
        await fs.mkdir(at('empty'));
        await fs.mkdir(at('full'));
        await fs.writeFile(at('full/x'), 'x');
        expect(await t.rmdir('empty')).toBe(true);
        expect(await t.rmdir('full')).toBe(false);
        expect(await t.rmdir('missing')).toBe(false);
        await expect(fs.stat(at('empty'))).rejects.toThrow();
        expect(await fs.readFile(at('full/x'), 'utf8')).toBe('x');
      });

      it('removeTree deletes a tree without following symlinks out of it', async () => {
        const outside = path.join(base, `outside-${counter}`);
        await fs.mkdir(outside);
        await fs.writeFile(path.join(outside, 'keep'), 'keep');
        await fs.mkdir(at('tree/a/b'), { recursive: true });
        await fs.writeFile(at('tree/a/b/f'), 'x');
        await fs.writeFile(at('tree/top'), 'x');
        await fs.symlink(outside, at('tree/a/out-link'));
        await t.removeTree('tree');
        await expect(fs.lstat(at('tree'))).rejects.toThrow();
        expect(await fs.readFile(path.join(outside, 'keep'), 'utf8')).toBe('keep');
        await t.removeTree('tree'); // missing is fine
      });

      it('removeTree deletes a big tree (past any small-tree shortcut) without following symlinks', async () => {
        const outside = path.join(base, `outside-big-${counter}`);
        await fs.mkdir(outside);
        await fs.writeFile(path.join(outside, 'keep'), 'keep');
        for (let d = 0; d < 6; d++) {
          await fs.mkdir(at(`big/d${d}`), { recursive: true });
          for (let f = 0; f < 60; f++) await fs.writeFile(at(`big/d${d}/f${f}`), 'x');
        }
        await fs.symlink(outside, at('big/d3/out-link'));
        await t.removeTree('big');
        await expect(fs.lstat(at('big'))).rejects.toThrow();
        expect(await fs.readFile(path.join(outside, 'keep'), 'utf8')).toBe('keep');
      });

      it('removeTree on a symlinked folder removes the link only', async () => {
        const outside = path.join(base, `outside2-${counter}`);
        await fs.mkdir(outside);
        await fs.writeFile(path.join(outside, 'keep'), 'keep');
        await fs.symlink(outside, at('dirlink'));
        await t.removeTree('dirlink');
        await expect(fs.lstat(at('dirlink'))).rejects.toThrow();
        expect(await fs.readFile(path.join(outside, 'keep'), 'utf8')).toBe('keep');
      });

      it('readdir lists names, null when missing', async () => {
        await fs.mkdir(at('d'));
        await fs.writeFile(at('d/a'), '');
        await fs.mkdir(at('d/sub'));
        await fs.symlink('a', at('d/l'));
        expect((await t.readdir('d'))?.sort()).toEqual(['a', 'l', 'sub']);
        expect(await t.readdir('missing')).toBeNull();
        expect((await t.readdir(''))?.sort()).toEqual(['d']);
      });
    });

    describe('writeStream', () => {
      it('writes a big file from its chunks byte for byte, small and empty ones too, with exact modes', async () => {
        const big = noise(5 * 1024 * 1024 + 3, 1);
        const small = noise(70_000, 2); // two chunks, below any streaming threshold
        await t.writeStream!('big.bin', sourceOf(big), 0o755);
        await t.writeStream!('small.bin', sourceOf(small), 0o600);
        await t.writeStream!('empty', sourceOf(Buffer.alloc(0)), 0o644);
        expect((await fs.readFile(at('big.bin'))).equals(big)).toBe(true);
        expect((await fs.readFile(at('small.bin'))).equals(small)).toBe(true);
        expect((await fs.stat(at('empty'))).size).toBe(0);
        expect((await fs.stat(at('big.bin'))).mode & 0o7777).toBe(0o755);
        expect((await fs.stat(at('small.bin'))).mode & 0o7777).toBe(0o600);
        // Over an existing file (truncated), unsynced, then made durable by syncWritten().
        await t.writeStream!('big.bin', sourceOf(small), 0o644, { sync: false });
        await t.syncWritten();
        expect((await fs.readFile(at('big.bin'))).equals(small)).toBe(true);
      });

      it('several big streams and many small writes at once all arrive whole', async () => {
        await t.mkdirp('mix');
        const bigs = [0, 1, 2].map((i) => noise(1024 * 1024 + i * 999, 10 + i));
        const smalls = Array.from({ length: 60 }, (_, i) => Buffer.from(`small ${i}\n`.repeat(i)));
        await Promise.all([
          ...bigs.map((b, i) => t.writeStream!(`mix/big${i}`, sourceOf(b), 0o644, { sync: false })),
          ...smalls.map((b, i) => t.writeFile(`mix/small${i}`, b, 0o644, { sync: false })),
          ...smalls.map((b, i) => t.writeStream!(`mix/stream${i}`, sourceOf(b), 0o644, { sync: false })),
        ]);
        for (const [i, b] of bigs.entries())
          expect((await fs.readFile(at(`mix/big${i}`))).equals(b)).toBe(true);
        for (const [i, b] of smalls.entries()) {
          expect((await fs.readFile(at(`mix/small${i}`))).equals(b)).toBe(true);
          expect((await fs.readFile(at(`mix/stream${i}`))).equals(b)).toBe(true);
        }
      });

      it('a source that fails part way: its own error, the rest not asked for, and the transport still writes', async () => {
        const data = noise(3 * 1024 * 1024, 3);
        const error = new Error('the repository read went wrong');
        const source = sourceOf(data, { failAfter: 1024 * 1024, error });
        await expect(t.writeStream!('cut.bin', source, 0o644)).rejects.toBe(error);
        expect(source.stopped).toBe(true);
        // Small ones fail the same way, before anything is written.
        const small = sourceOf(noise(100_000, 4), { failAfter: 60_000, error });
        await expect(t.writeStream!('cut-small.bin', small, 0o644)).rejects.toBe(error);
        // The transport goes on: a big stream and a plain write right after.
        await t.writeStream!('after.bin', sourceOf(data), 0o644);
        await t.writeFile('after.txt', Buffer.from('fine'), 0o644);
        expect((await fs.readFile(at('after.bin'))).equals(data)).toBe(true);
        expect(await fs.readFile(at('after.txt'), 'utf8')).toBe('fine');
      });

      it('a source with fewer or more bytes than it announced: E_TRANSPORT naming the path', async () => {
        const data = noise(2 * 1024 * 1024, 5);
        const short = await expectCode(
          t.writeStream!('short.bin', sourceOf(data, { size: data.length + 10 }), 0o644),
          'E_TRANSPORT',
        );
        expect(short.message).toContain('short.bin');
        expect(short.message).toMatch(/announced/);
        const long = await expectCode(
          t.writeStream!('long.bin', sourceOf(data, { size: data.length - 10 }), 0o644),
          'E_TRANSPORT',
        );
        expect(long.message).toMatch(/announced/);
        await t.writeStream!('ok.bin', sourceOf(data), 0o644);
        expect((await fs.readFile(at('ok.bin'))).equals(data)).toBe(true);
      });

      it('a source holding its bytes whole: written from them, its count and its failure checked', async () => {
        const data = noise(5000, 7);
        const whole = sourceOf(data, { whole: true });
        await t.writeStream!('whole.bin', whole, 0o755);
        expect((await fs.readFile(at('whole.bin'))).equals(data)).toBe(true);
        expect((await fs.stat(at('whole.bin'))).mode & 0o7777).toBe(0o755);
        const error = new Error('the repository read went wrong');
        const failing = sourceOf(data, { whole: true, failAfter: 0, error });
        await expect(t.writeStream!('failed.bin', failing, 0o644)).rejects.toBe(error);
        await expect(
          t.writeStream!('short-whole.bin', sourceOf(data, { whole: true, size: data.length + 1 }), 0o644),
        ).rejects.toThrow(/announced/);
      });

      it('never writes through a symlink, at the name or on its path', async () => {
        const outside = await fs.mkdtemp(path.join(os.tmpdir(), 'diffship-outside-'));
        try {
          await fs.symlink(outside, at('linked'));
          await fs.symlink(path.join(outside, 'victim'), at('name'));
          const data = noise(1024 * 1024, 6);
          await expectCode(t.writeStream!('linked/f.bin', sourceOf(data), 0o644), 'E_UNSAFE');
          await expect(t.writeStream!('name', sourceOf(data), 0o644)).rejects.toMatchObject({
            code: expect.stringMatching(/E_UNSAFE|E_TRANSPORT/),
          });
          expect(await fs.readdir(outside)).toEqual([]);
        } finally {
          await fs.rm(outside, { recursive: true, force: true });
        }
      });
    });

    describe('walk', () => {
      beforeEach(async () => {
        await fs.mkdir(at('src/deep/er'), { recursive: true });
        await fs.mkdir(at('.diffship/backups'), { recursive: true });
        await fs.writeFile(at('.diffship/state.json'), '{}');
        await fs.writeFile(at('src/deep/er/x.txt'), 'xyz');
        await fs.chmod(at('src/deep/er/x.txt'), 0o755);
        await fs.writeFile(at('b.txt'), 'b');
        await fs.writeFile(at('B.txt'), 'B');
        await fs.writeFile(at('é.txt'), 'e');
        await fs.writeFile(at('\uFB01.txt'), 'fi ligature');
        const outside = path.join(base, `walk-outside-${counter}`);
        await fs.mkdir(outside, { recursive: true });
        await fs.writeFile(path.join(outside, 'secret'), 's');
        await fs.symlink(outside, at('linked-dir'));
      });

      it('lists every entry sorted by bytes, skipping skip folders and not entering symlinked folders', async () => {
        const entries = await t.walk('', ['.diffship']);
        const paths = entries.map((e) => e.path);
        expect(paths).toEqual([
          'B.txt',
          'b.txt',
          'linked-dir',
          'src',
          'src/deep',
          'src/deep/er',
          'src/deep/er/x.txt',
          'é.txt',
          '\uFB01.txt',
        ]);
        const byPath = new Map(entries.map((e) => [e.path, e]));
        expect(byPath.get('linked-dir')?.type).toBe('symlink');
        expect(byPath.get('src')?.type).toBe('dir');
        expect(byPath.get('src/deep/er/x.txt')).toMatchObject({ type: 'file', mode: 0o755, size: 3 });
        expect(byPath.get('src/deep/er/x.txt')!.mtimeMs).toBeGreaterThan(0);
      });

      it('walks below a folder, with paths still relative to the root', async () => {
        expect((await t.walk('src')).map((e) => e.path)).toEqual([
          'src/deep',
          'src/deep/er',
          'src/deep/er/x.txt',
        ]);
        expect(await t.walk('missing')).toEqual([]);
        expect((await t.walk('', ['.diffship', 'src/deep'])).map((e) => e.path)).not.toContain(
          'src/deep/er/x.txt',
        );
        expect((await t.walk('')).map((e) => e.path)).toContain('.diffship/state.json');
      });

      it('with stat: false still gives every path and type', async () => {
        const full = await t.walk('', ['.diffship']);
        const light = await t.walk('', ['.diffship'], { stat: false });
        expect(light.map((e) => [e.path, e.type])).toEqual(full.map((e) => [e.path, e.type]));
      });
    });

    describe('hashFiles', () => {
      it('matches git hash-object for files, symlinks, empty files; null for missing and folders', async () => {
        const big = Buffer.alloc(700 * 1024, 'z');
        await fs.writeFile(at('a.txt'), 'hello\n');
        await fs.writeFile(at('empty'), '');
        await fs.writeFile(at('big'), big);
        await fs.writeFile(at('bin'), Buffer.from([0, 1, 2, 255, 0]));
        await fs.mkdir(at('dir'));
        await fs.symlink('a.txt', at('link'));
        await fs.symlink('ünï côdé/../x', at('odd-link'));
        const ids = await t.hashFiles([
          'a.txt',
          'empty',
          'big',
          'bin',
          'link',
          'odd-link',
          'dir',
          'missing',
          'dir/missing',
        ]);
        expect(ids.get('a.txt')).toBe(gitHashObject(at('a.txt')));
        expect(ids.get('empty')).toBe('e69de29bb2d1d6434b8b29ae775ad8c2e48c5391');
        expect(ids.get('big')).toBe(gitHashObject(at('big')));
        expect(ids.get('bin')).toBe(gitHashObject(at('bin')));
        expect(ids.get('link')).toBe(gitHashBytes('a.txt'));
        expect(ids.get('odd-link')).toBe(gitHashBytes('ünï côdé/../x'));
        expect(ids.get('dir')).toBeNull();
        expect(ids.get('missing')).toBeNull();
        expect(ids.get('dir/missing')).toBeNull();
        expect(ids.size).toBe(9);
      });

      it('with algorithm sha256, gives the ids of a SHA-256 repository (files, links, large, hostile names)', async () => {
        const big = Buffer.alloc(700 * 1024, 'z');
        const odd = HOSTILE_NAMES[5]!;
        await fs.writeFile(at('a.txt'), 'hello\n');
        await fs.writeFile(at('empty'), '');
        await fs.writeFile(at('big'), big);
        await fs.writeFile(at('bin'), Buffer.from([0, 1, 2, 255, 0]));
        await fs.writeFile(at(odd), 'odd');
        await fs.mkdir(at('dir'));
        await fs.symlink('ünï côdé/../x', at('link'));
        const rels = ['a.txt', 'empty', 'big', 'bin', odd, 'link', 'dir', 'missing'];
        const ids = await t.hashFiles(rels, { algorithm: 'sha256' });
        for (const rel of ['a.txt', 'empty', 'big', 'bin', odd])
          expect(ids.get(rel), rel).toBe(gitHashObject(at(rel), 'sha256'));
        expect(ids.get('empty')).toBe('473a0f4c3be8a93681a267e3b1e9a7dcda1185436fe141f7749120a303721813');
        expect(ids.get('link')).toBe(gitHashBytes('ünï côdé/../x', 'sha256'));
        expect(ids.get('dir')).toBeNull();
        expect(ids.get('missing')).toBeNull();
        // The same transport still answers sha1 by default, and for the asking.
        expect((await t.hashFiles(['big'])).get('big')).toBe(gitHashObject(at('big')));
        expect((await t.hashFiles(['big'], { algorithm: 'sha1' })).get('big')).toBe(gitHashObject(at('big')));
      });

      it('hashes hundreds of files in one call', async () => {
        await fs.mkdir(at('m'));
        const names = Array.from({ length: 400 }, (_, i) => `m/f${i}`);
        await Promise.all(names.map((n, i) => fs.writeFile(at(n), `file ${i}`)));
        const ids = await t.hashFiles(names);
        for (const n of names.slice(0, 400).filter((_, i) => i % 37 === 0))
          expect(ids.get(n)).toBe(gitHashObject(at(n)));
        expect(new Set(ids.values()).size).toBe(400);
        expect((await t.hashFiles([])).size).toBe(0);
      });
    });

    describe('exec', () => {
      it('runs in the target root with the given environment and reports exit code and output', async () => {
        const env = {
          DIFFSHIP_TARGET: 'soup-a\'s "box"',
          DIFFSHIP_CHANGES: '$(echo injected) `x` $HOME\nline2',
          EMPTY: '',
        };
        const r = await t.exec(
          'pwd -P; printf "%s|" "$DIFFSHIP_TARGET" "$DIFFSHIP_CHANGES" "$EMPTY"; echo oops >&2; exit 3',
          { env },
        );
        expect(r.code).toBe(3);
        expect(r.timedOut).toBe(false);
        const pwd = r.stdout.slice(0, r.stdout.indexOf('\n'));
        expect(pwd).toBe(await fs.realpath(root));
        expect(r.stdout.slice(pwd.length + 1)).toBe(`${env.DIFFSHIP_TARGET}|${env.DIFFSHIP_CHANGES}||`);
        expect(r.stderr).toContain('oops');
        expect((await t.exec('true')).code).toBe(0);
      });

      it('keeps the end of a long output on both streams, where the errors are', async () => {
        // ~1.5 MiB on each stream, numbered lines, then a last line that must survive.
        const r = await t.exec(
          'i=0; while [ $i -lt 24000 ]; do l="line $i ................................................"; echo "$l"; echo "$l" >&2; i=$((i+1)); done; echo "the error at the end" >&2; echo done',
        );
        expect(r.code).toBe(0);
        expect(r.stdout.endsWith('line 23999 ................................................\ndone\n')).toBe(
          true,
        );
        expect(r.stderr.endsWith('the error at the end\n')).toBe(true);
        for (const out of [r.stdout, r.stderr]) {
          expect(out.startsWith('[… earlier output dropped]\n')).toBe(true);
          expect(out).not.toContain('line 0 ');
          expect(Buffer.byteLength(out)).toBeLessThan(1024 * 1024 + 100);
        }
      });

      it('stops a command past its timeout, killing what it started', async () => {
        const started = Date.now();
        const r = await t.exec('echo $$ > pid; sleep 30 & echo $! > child; wait', { timeoutMs: 400 });
        expect(r.timedOut).toBe(true);
        expect(r.code).not.toBe(0);
        expect(Date.now() - started).toBeLessThan(6000);
        const pids = [await fs.readFile(at('pid'), 'utf8'), await fs.readFile(at('child'), 'utf8')].map((s) =>
          Number(s.trim()),
        );
        await new Promise((r) => setTimeout(r, 300));
        for (const pid of pids) expect(processAlive(pid), `pid ${pid} still alive`).toBe(false);
      });

      it('rejects with E_CANCELLED when aborted', async () => {
        const controller = new AbortController();
        const started = Date.now();
        setTimeout(() => controller.abort(), 200);
        await expectCode(t.exec('sleep 30', { signal: controller.signal }), 'E_CANCELLED');
        expect(Date.now() - started).toBeLessThan(6000);
        await expectCode(t.exec('true', { signal: controller.signal }), 'E_CANCELLED');
      });

      it('refuses environment names that are not shell names', async () => {
        await expect(t.exec('true', { env: { 'A B': 'x' } })).rejects.toThrow(/not a valid shell name/);
      });
    });

    describe('hostile names', () => {
      it('survive every operation', async () => {
        await t.mkdirp('dir with space/ü');
        for (const name of HOSTILE_NAMES) {
          const rel = `dir with space/ü/${name}`;
          const data = Buffer.from(`content of ${name}`);
          await t.writeFile(rel, data, 0o644);
          expect(await fs.readFile(at(rel))).toEqual(data);
          expect(await t.readFile(rel)).toEqual(data);
          expect((await t.lstat(rel))?.type).toBe('file');
          await t.rename(rel, `${rel}.moved`);
          expect(await t.createExclusive(rel, data)).toBe(true);
          await t.symlink(name, `${rel}.link`);
          expect(await t.readlink(`${rel}.link`)).toBe(name);
        }
        const rels = HOSTILE_NAMES.map((n) => `dir with space/ü/${n}`);
        const ids = await t.hashFiles([...rels, ...rels.map((r) => `${r}.link`)]);
        for (const [i, rel] of rels.entries()) {
          expect(ids.get(rel)).toBe(gitHashObject(at(rel)));
          expect(ids.get(`${rel}.link`)).toBe(gitHashBytes(HOSTILE_NAMES[i]!));
        }
        const walked = (await t.walk('dir with space')).map((e) => e.path);
        for (const rel of rels) expect(walked).toContain(`${rel}.moved`);
        expect(walked).toHaveLength(1 + rels.length * 3);
        await expect(fs.stat(at('pwned'))).rejects.toThrow();
        await t.removeTree('dir with space');
        expect(await fs.readdir(root)).toEqual([]);
      });
    });

    describe('unsafe paths', () => {
      const unsafe = [
        '/etc/passwd',
        '../escape',
        'a/../../escape',
        'a/./b',
        'a//b',
        'a/',
        './a',
        'a\0b',
        '..',
      ];
      it('refuses absolute, `..`, `.`, empty and NUL-containing paths in every operation', async () => {
        await fs.writeFile(at('ok'), 'ok');
        for (const rel of unsafe) {
          const error = await expectCode(t.writeFile(rel, Buffer.from('x'), 0o644), 'E_UNSAFE');
          expect(error.message).toContain(JSON.stringify(rel));
          await expectCode(t.readFile(rel), 'E_UNSAFE');
          await expectCode(t.lstat(rel), 'E_UNSAFE');
          await expectCode(t.readlink(rel), 'E_UNSAFE');
          await expectCode(t.chmod(rel, 0o644), 'E_UNSAFE');
          await expectCode(t.unlink(rel), 'E_UNSAFE');
          await expectCode(t.rmdir(rel), 'E_UNSAFE');
          await expectCode(t.removeTree(rel), 'E_UNSAFE');
          await expectCode(t.mkdirp(rel), 'E_UNSAFE');
          await expectCode(t.rename('ok', rel), 'E_UNSAFE');
          await expectCode(t.rename(rel, 'ok'), 'E_UNSAFE');
          await expectCode(t.link('ok', rel), 'E_UNSAFE');
          await expectCode(t.symlink('x', rel), 'E_UNSAFE');
          await expectCode(t.hashFiles(['ok', rel]), 'E_UNSAFE');
          await expectCode(t.walk(rel), 'E_UNSAFE');
          await expectCode(t.readdir(rel), 'E_UNSAFE');
          await expectCode(t.createExclusive(rel, Buffer.from('x')), 'E_UNSAFE');
        }
        expect(await fs.readdir(root)).toEqual(['ok']);
        expect(await fs.readFile(at('ok'), 'utf8')).toBe('ok');
      });

      it('never removes or writes the root itself', async () => {
        await fs.writeFile(at('keep'), 'k');
        await expectCode(t.removeTree(''), 'E_UNSAFE');
        await expectCode(t.writeFile('', Buffer.from('x'), 0o644), 'E_UNSAFE');
        await expectCode(t.unlink(''), 'E_UNSAFE');
        expect(await fs.readFile(at('keep'), 'utf8')).toBe('k');
      });
    });
  });
}
