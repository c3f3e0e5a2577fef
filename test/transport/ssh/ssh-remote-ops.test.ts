/**
 * The SSH transport's file helper (src/transport/remote-ops.ts): its perl
 * script run here under `sh`, as sshd would run it, fed records on stdin.
 * Writes (exact bytes and modes, never through a symlink), renames, links and
 * hashes; a failed record leaves the stream in step for the next; answers
 * come while stdin stays open; the answer parser takes any chunking.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AnswerParser } from '../../../src/transport/ssh/answer-parser.js';
import {
  encodeRecord,
  hashList,
  OP_CHDIR,
  OP_HASH,
  OP_LINK,
  OP_LIST,
  OP_RENAME,
  OP_RMTREE,
  SMALL_TREE,
  OP_SYNC,
  OP_WRITE,
  parseHashPayload,
  parseListPayload,
  READY,
  SYNC_FLAG,
} from '../../../src/transport/ssh/perl-helper-protocol.js';
import { gitHashBytes, gitHashObject } from '../conformance.js';
import { HOSTILE } from '../../apply/conformance.js';
import { FileHelper } from '../../helpers/file-helper.js';

let base: string;
let root: string;
let helper: FileHelper;
let counter = 0;

beforeAll(async () => {
  base = await fs.mkdtemp(path.join(os.tmpdir(), 'diffship-remote-ops-'));
});
afterAll(async () => {
  await fs.rm(base, { recursive: true, force: true });
});
beforeEach(async () => {
  root = path.join(base, `r${counter++}`);
  await fs.mkdir(root);
  helper = new FileHelper(root);
});
afterEach(async () => {
  expect(await helper.end()).toBe(0);
  expect(helper.stderr).toBe('');
});

const at = (rel: string) => path.join(root, rel);
const ok = { ok: true, payload: '' };

describe('the file helper', () => {
  it('writes exact bytes and exact modes (despite the umask), for empty, small, multi-megabyte and hostile-named files', async () => {
    const big = randomBytes(3 * 1024 * 1024 + 17); // several reads of the helper's 1 MiB buffer
    const files: Array<[string, Buffer, number]> = [
      ['empty', Buffer.alloc(0), 0o644],
      ['run.sh', Buffer.from('#!/bin/sh\n'), 0o755],
      ['secret', Buffer.from('s\0\n\r\xff'), 0o600],
      ['group', Buffer.from('g'), 0o664],
      ['big.bin', big, 0o644],
      ...HOSTILE.map((n, i): [string, Buffer, number] => [n, Buffer.from(`hostile ${i}`), 0o644]),
    ];
    const answers = await Promise.all(
      files.map(([name, data, mode]) => helper.send(OP_WRITE, name, { data, mode })),
    );
    for (const a of answers) expect(a).toMatchObject(ok);
    for (const [name, data, mode] of files) {
      expect(await fs.readFile(at(name)), name).toEqual(data);
      expect((await fs.stat(at(name))).mode & 0o7777, name).toBe(mode);
    }
    // Overwriting truncates; the sync flag fsyncs and changes nothing else.
    expect(
      await helper.send(OP_WRITE, 'big.bin', { data: Buffer.from('short'), mode: 0o640 | SYNC_FLAG }),
    ).toMatchObject(ok);
    expect(await fs.readFile(at('big.bin'), 'utf8')).toBe('short');
    expect((await fs.stat(at('big.bin'))).mode & 0o7777).toBe(0o640);
  });

  it('never writes through a symlink, and a failed record leaves the stream in step', async () => {
    await fs.writeFile(at('victim'), 'untouched');
    await fs.symlink('victim', at('link'));
    const data = randomBytes(2 * 1024 * 1024); // the refused record's data must still be skipped whole
    const [refused, missing, after] = await Promise.all([
      helper.send(OP_WRITE, 'link', { data, mode: 0o644 }),
      helper.send(OP_WRITE, 'no/such/folder/f', { data: Buffer.from('x'), mode: 0o644 }),
      helper.send(OP_WRITE, 'after', { data: Buffer.from('fine'), mode: 0o644 }),
    ]);
    expect(refused).toMatchObject({ ok: false, errno: 'ELOOP' });
    expect(missing).toMatchObject({
      ok: false,
      errno: 'ENOENT',
      message: expect.stringMatching(/No such file/),
    });
    expect(after).toMatchObject(ok);
    expect(await fs.readFile(at('victim'), 'utf8')).toBe('untouched');
    expect(await fs.readFile(at('after'), 'utf8')).toBe('fine');
  });

  it('renames (replacing the destination, a symlink included) and hard-links, with errno names on failure', async () => {
    await fs.writeFile(at('a'), 'A');
    await fs.writeFile(at('b'), 'B');
    await fs.symlink('b', at('l'));
    expect(await helper.send(OP_RENAME, 'a', { b: 'l' })).toMatchObject(ok);
    expect((await fs.lstat(at('l'))).isFile()).toBe(true);
    expect(await fs.readFile(at('l'), 'utf8')).toBe('A');
    expect(await fs.readFile(at('b'), 'utf8')).toBe('B');
    expect(await helper.send(OP_RENAME, 'a', { b: 'z' })).toMatchObject({ ok: false, errno: 'ENOENT' });
    expect(await helper.send(OP_LINK, 'l', { b: 'l2' })).toMatchObject(ok);
    expect((await fs.stat(at('l2'))).ino).toBe((await fs.stat(at('l'))).ino);
    expect(await helper.send(OP_LINK, 'l', { b: 'b' })).toMatchObject({ ok: false, errno: 'EEXIST' });
    expect(await helper.send(OP_RENAME, "it's", { b: '-dash' })).toMatchObject({
      ok: false,
      errno: 'ENOENT',
    });
  });

  it('hashes files and links as git does: - for missing paths and folders', async () => {
    await fs.mkdir(at('dir'));
    await fs.writeFile(at('f'), 'content\n');
    await fs.writeFile(at('new\nline'), '');
    await fs.symlink('ünï/../target', at('link'));
    const paths = ['f', 'link', 'missing', 'dir', 'new\nline'];
    const a = await helper.send(OP_HASH, hashList(paths));
    expect(a.ok).toBe(true);
    const records = parseHashPayload((a as { payload: string }).payload, paths.length);
    expect(records).toEqual([
      gitHashObject(at('f')),
      gitHashBytes('ünï/../target'),
      null,
      null,
      gitHashObject(at('new\nline')),
    ]);
    expect(parseHashPayload('abc', 2)).toBeNull(); // a short answer is no answer
  });

  it('hashes as a SHA-256 repository does when the record says 256, in the same process as sha1', async () => {
    await fs.mkdir(at('dir'));
    await fs.writeFile(at('f'), 'content\n');
    await fs.writeFile(at('big'), randomBytes(3 * 1024 * 1024 + 5));
    await fs.symlink('ünï/../target', at('link'));
    const paths = ['f', 'big', 'link', 'missing', 'dir'];
    const a = await helper.send(OP_HASH, hashList(paths), { mode: 256 });
    const records = parseHashPayload((a as { payload: string }).payload, paths.length, 'sha256');
    expect(records).toEqual([
      gitHashObject(at('f'), 'sha256'),
      gitHashObject(at('big'), 'sha256'),
      gitHashBytes('ünï/../target', 'sha256'),
      null,
      null,
    ]);
    // The next record, without a mode, is sha1 again.
    const b = await helper.send(OP_HASH, hashList(['f']));
    expect(parseHashPayload((b as { payload: string }).payload, 1)).toEqual([gitHashObject(at('f'))]);
    // Ids of the other algorithm are no records.
    expect(parseHashPayload((b as { payload: string }).payload, 1, 'sha256')).toEqual([null]);
  });

  it('is not confused by what a login script prints before it starts', async () => {
    await helper.end();
    helper = new FileHelper(root, "echo 'Welcome!'; echo '1 err EIO not the helper'; printf 'no newline'; ");
    expect(await helper.send(OP_WRITE, 'f', { data: Buffer.from('x'), mode: 0o644 })).toMatchObject(ok);
    expect(await helper.send(OP_RENAME, 'f', { b: 'g' })).toMatchObject(ok);
    expect(await fs.readFile(at('g'), 'utf8')).toBe('x');
  });

  it('moves into the folder the first record names, and serves paths from there', async () => {
    await helper.end();
    await fs.mkdir(at('target'));
    helper = new FileHelper(base); // started elsewhere (the login folder), as the transport starts it
    expect(await helper.send(OP_CHDIR, at('target'))).toMatchObject(ok);
    expect(await helper.send(OP_WRITE, 'f', { data: Buffer.from('in'), mode: 0o644 })).toMatchObject(ok);
    expect(await fs.readFile(at('target/f'), 'utf8')).toBe('in');
  });

  it('exits rather than serve anywhere else when it cannot move into the folder', async () => {
    await helper.end();
    const other = new FileHelper(root);
    const write = other.send(OP_WRITE, 'stray', { data: Buffer.from('x'), mode: 0o644 });
    void other.send(OP_CHDIR, at('missing'));
    expect(await other.exited).toBe(5);
    helper = new FileHelper(root); // for afterEach
    // The chdir came second: the write before it was answered; nothing after it runs.
    expect(await write).toMatchObject(ok);
    expect(await fs.readdir(root)).toEqual(['stray']);
  });

  it('syncs the file system (syncfs), or fsyncs the listed files (missing ones and links skipped), without a shell', async () => {
    await fs.writeFile(at('a'), 'a');
    await fs.symlink('a', at('link'));
    expect(await helper.send(OP_SYNC, '')).toMatchObject(ok);
    expect(await helper.send(OP_SYNC, hashList(['a', 'gone', 'link']))).toMatchObject(ok);
    await fs.mkdir(at('locked'));
    await fs.writeFile(at('locked/f'), 'f');
    await fs.chmod(at('locked/f'), 0);
    // root reads anything: a file no one can open only fails for other users.
    if (process.getuid?.() !== 0)
      expect(await helper.send(OP_SYNC, hashList(['locked/f']))).toMatchObject({
        ok: false,
        errno: 'EACCES',
      });
  });

  it('syncs the file system with the syncfs system call where its number is known, without starting sync', async () => {
    // A sync first on PATH that only leaves a mark and fails: a spawned sync would show.
    const bin = await fs.mkdtemp(path.join(base, 'bin-'));
    const mark = path.join(bin, 'spawned');
    await fs.writeFile(path.join(bin, 'sync'), `#!/bin/sh\ntouch '${mark}'\nexit 1\n`, { mode: 0o755 });
    const watched = new FileHelper(root, `PATH='${bin}':"$PATH"; export PATH; `);
    const answer = await watched.send(OP_SYNC, '');
    await watched.end();
    const known = process.platform === 'linux' && ['x64', 'arm64'].includes(process.arch);
    if (known) {
      expect(answer).toMatchObject(ok);
      expect(existsSync(mark)).toBe(false);
    } else {
      // Elsewhere sync -f is still what runs (here the failing one).
      expect(answer).toMatchObject({ ok: false, errno: 'ENOSYS' });
      expect(existsSync(mark)).toBe(true);
    }
  });

  it('starts no rm for a tree that is not there, nor for a small one (files, links, empty folders)', async () => {
    const bin = await fs.mkdtemp(path.join(base, 'bin-'));
    const mark = path.join(bin, 'spawned');
    await fs.writeFile(path.join(bin, 'rm'), `#!/bin/sh\ntouch '${mark}'\nexit 1\n`, { mode: 0o755 });
    const watched = new FileHelper(root, `PATH='${bin}':"$PATH"; export PATH; `);
    expect(await watched.send(OP_RMTREE, 'not-there/sub')).toMatchObject(ok);
    // A staging once its files are in place: folders, empty at the bottom.
    await fs.mkdir(at('emptied/a/b'), { recursive: true });
    await fs.mkdir(at('emptied/c'));
    expect(await watched.send(OP_RMTREE, 'emptied')).toMatchObject(ok);
    expect(existsSync(at('emptied'))).toBe(false);
    expect(existsSync(mark)).toBe(false);
    // An expired backup of an update: files, a link to a folder outside (removed, not followed).
    const outside = await fs.mkdtemp(path.join(base, 'outside-'));
    await fs.writeFile(path.join(outside, 'keep'), 'keep');
    await fs.mkdir(at('backup/a/b'), { recursive: true });
    for (let i = 0; i < 100; i++) await fs.writeFile(at(`backup/a/b/f${i}`), `${i}`);
    await fs.writeFile(at('backup/backup.json'), '{}');
    await fs.symlink(outside, at('backup/a/out'));
    await fs.symlink('b/f1', at('backup/a/rel'));
    expect(await watched.send(OP_RMTREE, 'backup')).toMatchObject(ok);
    expect(existsSync(at('backup'))).toBe(false);
    expect(existsSync(mark)).toBe(false);
    expect(await fs.readFile(path.join(outside, 'keep'), 'utf8')).toBe('keep');
    // Over SMALL_TREE entries: rm runs (here the one that fails), on what the helper left.
    await fs.mkdir(at('big/a'), { recursive: true });
    for (let i = 0; i <= SMALL_TREE; i++) await fs.writeFile(at(`big/a/f${i}`), '');
    expect(await watched.send(OP_RMTREE, 'big')).toMatchObject({ ok: false, errno: 'EIO' });
    expect(existsSync(mark)).toBe(true);
    expect(await fs.readdir(at('big/a'))).toHaveLength(SMALL_TREE + 1); // nothing removed first
    await watched.end();
  });

  it('removes trees (hostile names included) without following links, and refuses a link on the path', async () => {
    const outside = await fs.mkdtemp(path.join(base, 'outside-'));
    await fs.writeFile(path.join(outside, 'keep'), 'keep');
    await fs.mkdir(at('tree/sub'), { recursive: true });
    for (const name of HOSTILE) await fs.writeFile(at(`tree/sub/${name}`), name);
    await fs.symlink(outside, at('tree/out'));
    await fs.symlink(outside, at('via'));
    expect(await helper.send(OP_RMTREE, 'via/keep')).toMatchObject({ ok: false, errno: 'ELOOP' });
    expect(await helper.send(OP_RMTREE, 'tree')).toMatchObject(ok);
    expect(await helper.send(OP_RMTREE, 'not-there')).toMatchObject(ok);
    expect(await fs.readdir(root)).toEqual(['via']);
    expect(await fs.readFile(path.join(outside, 'keep'), 'utf8')).toBe('keep');
  });

  it('lists a folder with the lstat of each entry in one answer (hostile names too); never through a link', async () => {
    await fs.mkdir(at('d/sub'), { recursive: true });
    for (const name of HOSTILE) await fs.writeFile(at(`d/${name}`), name);
    await fs.writeFile(at('d/x'), 'four');
    await fs.chmod(at('d/x'), 0o640);
    await fs.symlink('x', at('d/link'));
    await fs.symlink('d', at('via'));
    const a = await helper.send(OP_LIST, 'd');
    expect(a.ok).toBe(true);
    const entries = parseListPayload((a as { payload: string }).payload)!;
    expect(entries.map((e) => e.name).sort()).toEqual([...HOSTILE, 'link', 'sub', 'x'].sort());
    const x = entries.find((e) => e.name === 'x')!;
    const st = await fs.lstat(at('d/x'));
    expect(x).toEqual({
      name: 'x',
      mode: st.mode,
      size: 4,
      mtime: Math.floor(st.mtimeMs / 1000),
      uid: st.uid,
      gid: st.gid,
    });
    expect(entries.find((e) => e.name === 'link')!.mode & 0o170000).toBe(0o120000);
    expect(entries.find((e) => e.name === 'sub')!.mode & 0o170000).toBe(0o040000);
    // The root, an empty folder, a missing one, a file, and a link to a folder (refused).
    const root = await helper.send(OP_LIST, '');
    expect(
      parseListPayload((root as { payload: string }).payload)!
        .map((e) => e.name)
        .sort(),
    ).toEqual(['d', 'via']);
    expect(await helper.send(OP_LIST, 'd/sub')).toMatchObject(ok);
    expect(await helper.send(OP_LIST, 'missing')).toMatchObject({ ok: false, errno: 'ENOENT' });
    expect(await helper.send(OP_LIST, 'd/x')).toMatchObject({ ok: false, errno: 'ENOTDIR' });
    expect(await helper.send(OP_LIST, 'via')).toMatchObject({ ok: false, errno: 'ELOOP' });
    expect(await helper.send(OP_LIST, 'via/sub')).toMatchObject({ ok: false, errno: 'ELOOP' });
    expect(parseListPayload('zz,1,2,3,4,5')).toBeNull();
  });

  it('answers each record while stdin stays open (one at a time, in a conversation)', async () => {
    for (let i = 0; i < 5; i++) {
      const a = await Promise.race([
        helper.send(OP_WRITE, `f${i}`, { data: Buffer.from(String(i)), mode: 0o644 }),
        new Promise((_, reject) => setTimeout(() => reject(new Error('no answer within 5 s')), 5000)),
      ]);
      expect(a).toMatchObject(ok);
    }
    expect((await fs.readdir(root)).sort()).toEqual(['f0', 'f1', 'f2', 'f3', 'f4']);
  });
});

describe('records and answers', () => {
  it('encodes ids, lengths above 4 GiB and UTF-8 paths', () => {
    const r = encodeRecord(7, OP_RENAME, 'ä b', { b: 'c', mode: 0o755, dataLength: 2 ** 32 + 5 });
    expect(r.readUInt32BE(0)).toBe(7);
    expect(r.readUInt32BE(4)).toBe(OP_RENAME);
    expect(r.readUInt32BE(8)).toBe(0o755);
    expect(r.readUInt32BE(12)).toBe(4); // 'ä' is two bytes
    expect(r.readUInt32BE(16)).toBe(1);
    expect(r.readUInt32BE(20)).toBe(1);
    expect(r.readUInt32BE(24)).toBe(5);
    expect(r.subarray(28).toString('utf8')).toBe('ä bc');
  });

  it('parses answers split anywhere, even inside a multi-byte character, after skipping what precedes READY', () => {
    const p = new AnswerParser();
    const bytes = Buffer.from(
      `motd\n7 ok\n\n${READY}\n1 ok\n2 err ENOENT Datei nicht gefunden: ü\n3 ok a b\n`,
    );
    const cut = bytes.indexOf(Buffer.from('ü')) + 1;
    const start = bytes.indexOf(Buffer.from('1 ok'));
    expect(p.push(bytes.subarray(0, start + 3))).toEqual({ answers: [], error: null });
    expect(p.push(bytes.subarray(start + 3, cut))).toEqual({
      answers: [{ id: 1, ok: true, payload: '' }],
      error: null,
    });
    expect(p.push(bytes.subarray(cut))).toEqual({
      answers: [
        { id: 2, ok: false, errno: 'ENOENT', message: 'Datei nicht gefunden: ü' },
        { id: 3, ok: true, payload: 'a b' },
      ],
      error: null,
    });
    // A line that is no answer is an error; the answers before it still count.
    const bad = p.push(Buffer.from('4 ok\ngarbage\n5 ok\n'));
    expect(bad.answers).toEqual([{ id: 4, ok: true, payload: '' }]);
    expect(bad.error?.message).toMatch(/unexpected answer from the host: "garbage"/);
  });

  it('tells when the READY line came, and joins a long answer sent in many chunks, one byte at a time too', () => {
    const p = new AnswerParser();
    const payload = `${'ab'.repeat(40_000)}ü`;
    const bytes = Buffer.from(`login banner\n${READY}\n9 ok ${payload}\n10 ok\n`);
    const ready = bytes.indexOf(Buffer.from(READY)) + READY.length + 1;
    const answers: unknown[] = [];
    for (let at = 0; at < bytes.length; at += 1 + (at % 7919)) {
      const end = Math.min(bytes.length, at + 1 + (at % 7919));
      const got = p.push(bytes.subarray(at, end));
      expect(got.error).toBeNull();
      answers.push(...got.answers);
      expect(p.isReady).toBe(end >= ready);
    }
    expect(answers).toEqual([
      { id: 9, ok: true, payload },
      { id: 10, ok: true, payload: '' },
    ]);
  });
});
