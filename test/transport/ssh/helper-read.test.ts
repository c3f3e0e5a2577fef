/**
 * read (16): a whole file through the file helper (read-protocol.ts), run here
 * under `sh` as sshd would run it. Exact bytes at every size around a part's
 * edge, in raw frames; never a link, a file below a linked folder, a folder or a
 * FIFO (which would block a plain read); and the parser's checks of the frames.
 */
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OP_READ, PART_BYTES, readCount } from '../../../src/transport/ssh/read-protocol.js';
import { READY } from '../../../src/transport/ssh/perl-helper-protocol.js';
import { AnswerParser, MAX_FRAME } from '../../../src/transport/ssh/answer-parser.js';
import { FileHelper } from '../../helpers/file-helper.js';
import { runStreamed } from '../../../src/transport/ssh/streamed-op.js';
import { readWithHelper } from '../../../src/transport/ssh/helper-read.js';
import { NO_LIMIT } from '../../../src/transport/read-bound.js';
import type { SshConnection } from '../../../src/transport/ssh/connection.js';
import { OP_SCAN } from '../../../src/transport/ssh/scan-protocol.js';
import type { OpsChannel, SshOps } from '../../../src/transport/ssh/perl-helper-client.js';

let root: string;
let helper: FileHelper;
beforeAll(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'diffship-helper-read-'));
  helper = new FileHelper(root);
});
afterAll(async () => {
  expect(await helper.end()).toBe(0);
  expect(helper.stderr).toBe('');
  await fs.rm(root, { recursive: true, force: true });
});

/** What the helper sends for `rel`: the decoded bytes and the count it announced, or its refusal. */
async function read(rel: string, limit = NO_LIMIT) {
  const a = await helper.send(OP_READ, rel, { mode: limit });
  if (!a.ok) return { errno: a.errno };
  expect(a.parts.every((p) => Buffer.isBuffer(p))).toBe(true);
  return { data: Buffer.concat(a.parts as Buffer[]), count: readCount(a.payload), parts: a.parts.length };
}

describe('the file helper reads a file whole', () => {
  it('sends exact bytes in raw frames of at most 768 KiB, at every size around a frame', async () => {
    const part = PART_BYTES;
    for (const size of [0, 1, 2, 3, part - 1, part, part + 1, 3 * part + 5]) {
      const data = randomBytes(size);
      await fs.writeFile(path.join(root, `f${size}`), data);
      const got = await read(`f${size}`);
      expect(got.count, String(size)).toBe(size);
      expect(got.data!.equals(data), String(size)).toBe(true);
      expect(got.parts, String(size)).toBe(Math.ceil(size / part));
    }
  });

  it('sends at most the limit the record names: a bigger file is EFBIG, nothing of it sent', async () => {
    const data = randomBytes(PART_BYTES + 10);
    await fs.writeFile(path.join(root, 'limited'), data);
    // At the limit exactly: the whole file.
    const whole = await read('limited', data.length);
    expect(whole.count).toBe(data.length);
    expect(whole.data!.equals(data)).toBe(true);
    // One byte under: refused from the open file's size, before a byte is sent.
    const a = await helper.send(OP_READ, 'limited', { mode: data.length - 1 });
    expect(a.ok ? 'ok' : [a.errno, a.message]).toEqual(['EFBIG', String(data.length)]);
    expect(a.parts).toEqual([]);
    // The edges: an empty file at a limit of 0, and a 1-byte one refused there.
    await fs.writeFile(path.join(root, 'empty'), '');
    expect((await read('empty', 0)).count).toBe(0);
    await fs.writeFile(path.join(root, 'one'), 'x');
    expect(await read('one', 0)).toEqual({ errno: 'EFBIG' });
    // Still in step after the refusals.
    expect((await read('one')).data?.toString()).toBe('x');
  });

  it('never through a link, nor below a linked folder; never a folder or a FIFO', async () => {
    const outside = await fs.mkdtemp(path.join(os.tmpdir(), 'diffship-helper-read-out-'));
    try {
      await fs.writeFile(path.join(outside, 'secret'), 'outside the target\n');
      await fs.symlink(path.join(outside, 'secret'), path.join(root, 'link'));
      await fs.symlink(outside, path.join(root, 'linked-dir'));
      await fs.mkdir(path.join(root, 'dir'));
      execFileSync('mkfifo', [path.join(root, 'fifo')]);
      expect(await read('link')).toEqual({ errno: 'ELOOP' });
      expect(await read('linked-dir/secret')).toEqual({ errno: 'ELOOP' });
      expect(await read('dir')).toEqual({ errno: 'EISDIR' });
      expect(await read('fifo')).toEqual({ errno: 'EINVAL' });
      expect(await read('missing')).toEqual({ errno: 'ENOENT' });
      // Still in step after the refusals.
      await fs.writeFile(path.join(root, 'after'), 'after\n');
      expect((await read('after')).data?.toString()).toBe('after\n');
    } finally {
      await fs.rm(outside, { recursive: true, force: true });
    }
  });

  it('takes raw frames split anywhere, refuses one announced above 1 MiB, and takes only a plain byte count', () => {
    const bytes = randomBytes(5000);
    const stream = Buffer.concat([
      Buffer.from(`${READY}\n7 bytes 3000\n`),
      bytes.subarray(0, 3000),
      Buffer.from('7 bytes 0\n7 bytes 2000\n'),
      bytes.subarray(3000),
      Buffer.from('7 ok 5000\n'),
    ]);
    for (const cut of [1, 7, 64, 4096]) {
      const parser = new AnswerParser();
      const got: Buffer[] = [];
      let done = '';
      for (let at = 0; at < stream.length; at += cut) {
        const { answers, error } = parser.push(stream.subarray(at, at + cut));
        expect(error).toBeNull();
        for (const a of answers) {
          if (a.ok && a.part) got.push(a.bytes!);
          else if (a.ok) done = a.payload;
        }
      }
      expect(
        got.map((b) => b.length),
        String(cut),
      ).toEqual([3000, 0, 2000]);
      expect(Buffer.concat(got).equals(bytes)).toBe(true);
      expect(done).toBe('5000');
    }
    const huge = new AnswerParser();
    const { error } = huge.push(Buffer.from(`${READY}\n7 bytes ${MAX_FRAME + 1}\n`));
    expect(error?.message).toMatch(/unexpected answer from the host: "7 bytes 1048577"/);
    expect(readCount('0')).toBe(0);
    expect(readCount('3145733')).toBe(3145733);
    for (const bad of ['', '01', '-1', '1e3', '12 ', 'x']) expect(readCount(bad), bad).toBeNull();
  });

  it("announces the file's size before its frames: given a buffer of that size, the frames land in it", async () => {
    const given = new Map<number, Buffer>();
    const sized = new FileHelper(root, '', (id, size) => {
      // Buffer.alloc: never from Node's shared pool, so a view of it is known by its ArrayBuffer.
      const buffer = Buffer.alloc(size);
      given.set(id, buffer);
      return buffer;
    });
    try {
      const part = PART_BYTES;
      for (const [k, size] of [0, 1, part + 1, 3 * part + 5].entries()) {
        const data = randomBytes(size);
        await fs.writeFile(path.join(root, `s${size}`), data);
        const a = await sized.send(OP_READ, `s${size}`, { mode: NO_LIMIT });
        expect(a.ok && a.payload, String(size)).toBe(String(size));
        const buffer = given.get(k + 1)!;
        expect(buffer.length, String(size)).toBe(size);
        expect(buffer.equals(data), String(size)).toBe(true);
        // Every frame handed on is a view of it, in order: no buffer of their own.
        expect(a.parts.every((b) => Buffer.isBuffer(b) && b.buffer === buffer.buffer)).toBe(true);
        expect(Buffer.concat(a.parts as Buffer[]).equals(data)).toBe(true);
      }
    } finally {
      expect(await sized.end()).toBe(0);
    }
  });

  it('puts frames in the buffer given for their read only while they fit, and only for that read', () => {
    const bytes = randomBytes(5000);
    const stream = Buffer.concat([
      Buffer.from(`${READY}\n7 size 3000\n7 bytes 3000\n`),
      bytes.subarray(0, 3000),
      // The file grew since its size was sent: a frame past it has a buffer of its own.
      Buffer.from('7 bytes 2000\n'),
      bytes.subarray(3000),
      Buffer.from('7 ok 5000\n8 size 10\n9 bytes 4\nabcd9 ok 4\n8 bytes 10\n0123456789'),
      Buffer.from('8 ok 10\n10 size 6\n10 bytes 6\nabcdef10 ok 6\n'),
    ]);
    for (const cut of [1, 7, 64, 4096]) {
      const given = new Map<number, Buffer>();
      // Read 10 is given a buffer of the wrong size: not used.
      const parser = new AnswerParser((id, size) =>
        given.set(id, Buffer.alloc(id === 10 ? size + 1 : size)).get(id),
      );
      const got = new Map<number, Buffer[]>();
      for (let at = 0; at < stream.length; at += cut) {
        const { answers, error } = parser.push(stream.subarray(at, at + cut));
        expect(error).toBeNull();
        for (const a of answers) if (a.ok && a.part) got.set(a.id, [...(got.get(a.id) ?? []), a.bytes!]);
      }
      const [first, past] = got.get(7)!;
      expect(first!.buffer).toBe(given.get(7)!.buffer);
      expect(past!.buffer).not.toBe(given.get(7)!.buffer);
      expect(Buffer.concat([first!, past!]).equals(bytes), String(cut)).toBe(true);
      // Read 9's frame while read 8 waits for its own: its own buffer, and 8's lands in 8's.
      expect(got.get(9)![0]!.buffer).not.toBe(given.get(8)!.buffer);
      expect(got.get(9)![0]!.toString()).toBe('abcd');
      expect(got.get(8)![0]!.buffer).toBe(given.get(8)!.buffer);
      expect(given.get(8)!.toString()).toBe('0123456789');
      expect(got.get(10)![0]!.buffer).not.toBe(given.get(10)!.buffer);
      expect(got.get(10)![0]!.toString()).toBe('abcdef');
    }
  });

  it('refuses a raw frame in a walk answer (only a read sends them)', async () => {
    const pushed: string[] = [];
    // A host that answers a scan with a frame: the part handler is all that is under test.
    const ops = {
      run: (_h: unknown, _op: number, _rel: string, o: { onPart(p: string, b?: Buffer): void }) => {
        o.onPart('entry', undefined);
        o.onPart('', Buffer.from('raw'));
        return Promise.resolve('ok');
      },
    } as unknown as SshOps;
    await expect(
      runStreamed(ops, {} as OpsChannel, OP_SCAN, '', '', { push: (p) => void pushed.push(p) }),
    ).rejects.toThrow(/raw bytes in a listing/);
    expect(pushed).toEqual(['entry']);
  });

  it('refuses an answer that is not the file: a count other than the bytes sent, or a line for a frame', async () => {
    // A host under test as a script of answers: the checks of readWithHelper are all that is tested.
    const host = (frames: Array<string | Buffer>, answer: string) =>
      ({
        channel: () => Promise.resolve({}),
        run: (_h: unknown, _op: number, _rel: string, o: { onPart(p: string, b?: Buffer): void }) => {
          for (const f of frames)
            o.onPart(typeof f === 'string' ? f : '', typeof f === 'string' ? undefined : f);
          return Promise.resolve(answer);
        },
      }) as unknown as SshOps;
    const conn = {
      fail: (op: string, rel: string, error: Error) => new Error(`${op} ${rel}: ${error.message}`),
    } as unknown as SshConnection;
    const two = [Buffer.from('ab'), Buffer.from('cd')];
    expect((await readWithHelper(conn, host(two, '4'), 'm'))?.toString()).toBe('abcd');
    await expect(readWithHelper(conn, host(two, '5'), 'm')).rejects.toThrow(
      /^read m: the host's answer is not the file: it announced "5" bytes and sent 4$/,
    );
    await expect(readWithHelper(conn, host(two, '4 x'), 'm')).rejects.toThrow(/announced "4 x" bytes/);
    await expect(readWithHelper(conn, host(['ab', ...two], '4'), 'm')).rejects.toThrow(
      /a part is a line, not bytes/,
    );
    // A host that announces the size: the frames are read into the buffer the reader gives, and
    // that buffer is the file (no join); a file grown since is still taken whole.
    let lastGiven: Buffer | undefined;
    const sized = (announced: number, frames: string[], answer: string, adjacent = false) =>
      ({
        channel: () => Promise.resolve({}),
        run: (
          _h: unknown,
          _op: number,
          _rel: string,
          o: { onPart(p: string, b?: Buffer): void; onSized(n: number): Buffer | undefined },
        ) => {
          const into = o.onSized(announced);
          lastGiven = into;
          let at = 0;
          for (const f of frames) {
            const fits = into !== undefined && at + f.length <= into.length;
            // `adjacent`: a frame past the announced size in a buffer that happens to follow the
            // reader's in the same memory (Node's pool of small buffers can place one there).
            const next = adjacent && into !== undefined && at === into.length;
            const frame = fits
              ? into.subarray(at, at + f.length)
              : next
                ? Buffer.from(into.buffer, into.byteOffset + at, f.length)
                : Buffer.alloc(f.length);
            frame.write(f);
            at += f.length;
            o.onPart('', frame);
          }
          return Promise.resolve(answer);
        },
      }) as unknown as SshOps;
    const exact = await readWithHelper(conn, sized(4, ['ab', 'cd'], '4'), 'm');
    expect(exact?.toString()).toBe('abcd');
    // The very buffer the reader gave (a join would be another allocation, elsewhere).
    expect(exact?.buffer).toBe(lastGiven?.buffer);
    expect(exact?.byteOffset).toBe(lastGiven?.byteOffset);
    expect((await readWithHelper(conn, sized(2, ['ab', 'cd'], '4'), 'm'))?.toString()).toBe('abcd');
    // Small: its buffer is from Node's pool, with room after it for the test's next frame.
    expect(Buffer.allocUnsafe(2).buffer.byteLength).toBeGreaterThan(64);
    expect((await readWithHelper(conn, sized(2, ['ab', 'cd'], '4', true), 'm'))?.toString()).toBe('abcd');
    expect((await readWithHelper(conn, sized(4, ['ab'], '2'), 'm'))?.toString()).toBe('ab');
    // An announced size over the limit gets no buffer; the frames past the limit are refused as ever.
    await expect(readWithHelper(conn, sized(9, ['ab', 'cd'], '4'), 'm', 3)).rejects.toThrow(
      /more than the 3 bytes/,
    );
    // A host that sends past the limit it was given (its file grew, or it lies): refused.
    expect((await readWithHelper(conn, host(two, '4'), 'm', 4))?.toString()).toBe('abcd');
    await expect(readWithHelper(conn, host(two, '4'), 'm', 3)).rejects.toThrow(
      /^read m: it holds more than the 3 bytes diffship reads of it \(it grew while read\)$/,
    );
  });
});
