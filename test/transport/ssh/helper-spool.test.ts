/**
 * A big file of an SSH target read by offset (Transport.openRead over SSH: helper-spool.ts):
 * the file helper's frames go one by one into a local spool file (spool-file.ts), unlinked as
 * soon as it is made, so that an SSH target's manifest (~70 MB at 500,000 files) is never whole
 * in this process's memory. The parser's sink (pure), the spool itself, and SshTransport.openRead
 * on a real sshd: exact bytes, the limit, a link refused, nothing left in the temporary folder.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AnswerParser } from '../../../src/transport/ssh/answer-parser.js';
import { READY } from '../../../src/transport/ssh/perl-helper-protocol.js';
import { PART_BYTES } from '../../../src/transport/ssh/read-protocol.js';
import { createSpool } from '../../../src/transport/local/spool-file.js';
import { spoolWithHelper } from '../../../src/transport/ssh/helper-spool.js';
import type { SshConnection } from '../../../src/transport/ssh/connection.js';
import type { SshOps } from '../../../src/transport/ssh/perl-helper-client.js';
import { SshTransport } from '../../../src/transport/ssh/ssh-transport.js';
import { startSshd, type Sshd } from '../../helpers/sshd.js';
import { tempDir } from '../../helpers/git.js';

describe('the answer parser hands a sunk read its frames as they complete', () => {
  it('in one scratch buffer, in order, as no answer part, split anywhere; other reads as before', () => {
    const bytes = randomBytes(9000);
    const stream = Buffer.concat([
      Buffer.from(`${READY}\n4 size 9000\n4 bytes 4000\n`),
      bytes.subarray(0, 4000),
      // Another read's answer between two frames of the sunk one: its own buffer, an answer part.
      Buffer.from('5 bytes 3\nxyz5 ok 3\n4 bytes 5000\n'),
      bytes.subarray(4000),
      Buffer.from('4 ok 9000\n6 size 2\n6 bytes 2\nhi6 ok 2\n'),
    ]);
    for (const cut of [1, 5, 333, 4096, stream.length]) {
      const sunk: Buffer[] = [];
      const copies: Buffer[] = [];
      const parser = new AnswerParser((id) =>
        id === 4 || id === 6
          ? (b: Buffer) => {
              sunk.push(b);
              copies.push(Buffer.from(b));
            }
          : undefined,
      );
      const parts: Array<[number, string]> = [];
      const done: string[] = [];
      for (let at = 0; at < stream.length; at += cut) {
        const { answers, error } = parser.push(stream.subarray(at, at + cut));
        expect(error).toBeNull();
        for (const a of answers)
          if (a.ok && a.part) parts.push([a.id, a.bytes!.toString()]);
          else done.push(`${a.id} ${a.ok ? a.payload : a.errno}`);
      }
      expect(Buffer.concat(copies.slice(0, 2)).equals(bytes), String(cut)).toBe(true);
      expect(copies[2]!.toString()).toBe('hi');
      // One buffer for every sunk frame, used again: each frame must be taken before the next.
      expect(new Set(sunk.map((b) => b.buffer)).size).toBe(1);
      expect(parts).toEqual([[5, 'xyz']]);
      expect(done).toEqual(['5 3', '4 9000', '6 2']);
    }
  });
});

describe('a spool file', () => {
  let tmp: string;
  const saved = process.env.TMPDIR;
  beforeEach(() => {
    tmp = tempDir('diffship-spool-tmp-');
    process.env.TMPDIR = tmp;
  });
  afterEach(() => {
    if (saved === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = saved;
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('holds what was appended, readable by offset, with no name in the temporary folder', () => {
    const spool = createSpool();
    // Unlinked with its folder as soon as it is made: nothing to find, nothing to leave behind.
    expect(fs.readdirSync(tmp)).toEqual([]);
    const data = randomBytes(3 * 65536 + 7);
    for (let at = 0; at < data.length; at += 65536) spool.append(data.subarray(at, at + 65536));
    expect(spool.size).toBe(data.length);
    const file = spool.finish();
    expect(file.size).toBe(data.length);
    expect(file.racy).toBe(false);
    expect(file.read(0, data.length).equals(data)).toBe(true);
    const into = Buffer.alloc(100);
    expect(file.read(65530, 100, into).equals(data.subarray(65530, 65630))).toBe(true);
    expect(file.read(data.length - 3, 10).equals(data.subarray(data.length - 3))).toBe(true);
    expect(file.unchanged()).toBe(true);
    file.close();
    expect(() => file.read(0, 1)).toThrow(/EBADF/);
  });

  it('discarded: its descriptor closed; a temporary folder it cannot use is the system error', () => {
    const spool = createSpool();
    spool.append(Buffer.from('x'));
    spool.discard();
    expect(() => spool.append(Buffer.from('y'))).toThrow(/EBADF/);
    process.env.TMPDIR = path.join(tmp, 'missing');
    expect(() => createSpool()).toThrow(/ENOENT/);
  });
});

describe('SshTransport.openRead', () => {
  let sshd: Sshd;
  let base: string;
  let root: string;
  let tmp: string;
  let t: SshTransport;
  const saved = process.env.TMPDIR;
  beforeAll(async () => {
    sshd = await startSshd();
    base = tempDir('diffship-ssh-spool-');
    root = path.join(base, 'target');
    tmp = path.join(base, 'tmp');
    fs.mkdirSync(root);
    fs.mkdirSync(tmp);
    process.env.TMPDIR = tmp;
  });
  afterAll(async () => {
    if (saved === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = saved;
    await sshd?.stop();
    fs.rmSync(base, { recursive: true, force: true });
  });
  afterEach(async () => {
    await t?.close();
  });

  it('copies the file into an unlinked local spool through the helper, and reads it by offset', async () => {
    t = new SshTransport(sshd.sshOptions(), root);
    await t.connect();
    for (const size of [0, 5, PART_BYTES, 3 * PART_BYTES + 5]) {
      const data = randomBytes(size);
      fs.writeFileSync(path.join(root, `m${size}`), data);
      const file = await t.openRead(`m${size}`, size);
      expect(fs.readdirSync(tmp), String(size)).toEqual([]);
      expect(file.size).toBe(size);
      // It costs room in TMPDIR (the manifest cache has a budget for such copies).
      expect(file.spooled).toBe(true);
      expect(file.read(0, size).equals(data), String(size)).toBe(true);
      // The local copy, not the host's file: a change there since is not read.
      fs.writeFileSync(path.join(root, `m${size}`), 'changed');
      expect(file.read(0, Math.min(size, 7)).equals(data.subarray(0, 7)), String(size)).toBe(true);
      expect(file.unchanged()).toBe(true);
      file.close();
    }
  });

  it('takes at most the limit, never reads through a link, and leaves nothing behind either way', async () => {
    t = new SshTransport(sshd.sshOptions(), root);
    await t.connect();
    fs.writeFileSync(path.join(root, 'big'), randomBytes(2 * PART_BYTES));
    const tooBig = await t.openRead('big', PART_BYTES).catch((e: unknown) => e);
    // Refused from its size before a byte is sent (readFile's words; the cause is sanitised).
    expect(tooBig).toMatchObject({ code: 'E_TRANSPORT' });
    expect(String(tooBig)).toMatch(/cannot read "big": it is 1\.5 MiB, more than the 768 KiB/);
    fs.symlinkSync('big', path.join(root, 'link'));
    await expect(t.openRead('link')).rejects.toMatchObject({ code: 'E_UNSAFE' });
    expect(fs.readdirSync(tmp)).toEqual([]);
    // A temporary folder that cannot hold the copy: said so, with the fix.
    process.env.TMPDIR = path.join(base, 'missing');
    await expect(t.openRead('big')).rejects.toThrow(
      /cannot read "big": cannot keep a copy of it in this machine's temporary folder .*missing \(.*ENOENT.*\) — make room there, or set TMPDIR/,
    );
    process.env.TMPDIR = tmp;
    // Still in step: the next read is exact.
    const file = await t.openRead('big');
    expect(file.read(0, 2 * PART_BYTES).equals(fs.readFileSync(path.join(root, 'big')))).toBe(true);
    file.close();
  });

  it('refuses a host that sends more than the limit, or other than it announced', async () => {
    // A host under test as a script of answers: the checks of spoolWithHelper are all that is tested.
    const host = (frames: string[], answer: string) =>
      ({
        channel: () => Promise.resolve({}),
        run: (
          _h: unknown,
          _op: number,
          _rel: string,
          o: { onSized(n: number): ((b: Buffer) => void) | undefined; onPart(p: string, b?: Buffer): void },
        ) => {
          const sink = o.onSized(4);
          for (const f of frames) (sink ?? ((b: Buffer) => o.onPart('', b)))(Buffer.from(f));
          return Promise.resolve(answer);
        },
      }) as unknown as SshOps;
    const conn = {
      fail: (op: string, rel: string, error: Error) => new Error(`${op} ${rel}: ${error.message}`),
    } as unknown as SshConnection;
    const file = await spoolWithHelper(conn, host(['ab', 'cd'], '4'), 'm', 4);
    expect(file!.read(0, 4).toString()).toBe('abcd');
    file!.close();
    // Grown past the limit while sent: refused, without the bytes past it kept.
    await expect(spoolWithHelper(conn, host(['ab', 'cd', 'e'], '5'), 'm', 4)).rejects.toThrow(
      /^read m: it holds more than the 4 bytes diffship reads of it \(it grew while read\)$/,
    );
    await expect(spoolWithHelper(conn, host(['ab', 'cd'], '5'), 'm')).rejects.toThrow(
      /^read m: the host's answer is not the file: it announced "5" bytes and sent 4$/,
    );
    expect(fs.readdirSync(tmp)).toEqual([]);
  });

  it('without the file helper (SFTP), the same bytes, read whole', async () => {
    t = new SshTransport(sshd.sshOptions(), root, undefined, { bulkOps: false });
    await t.connect();
    const data = randomBytes(PART_BYTES + 3);
    fs.writeFileSync(path.join(root, 'plain'), data);
    const file = await t.openRead('plain');
    expect(file.spooled).toBeFalsy();
    expect(file.read(0, data.length).equals(data)).toBe(true);
    expect(file.read(PART_BYTES, 10).equals(data.subarray(PART_BYTES))).toBe(true);
    file.close();
  });
});
