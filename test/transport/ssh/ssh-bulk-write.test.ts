/**
 * The file helper's bulk write (op 30, bulk-write-protocol.ts): its perl run
 * here under `sh`, as sshd would run it, fed records on stdin. Many files in
 * one record, exact bytes and modes, each hashed as written (sha1 and sha256);
 * never through a link (the refusal names the file); a bad list or a failed
 * file leaves the stream in step for the next record. The syncs ahead run in
 * one child for the whole session, which ends with the helper.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { OP_WRITE, SHA256_FLAG } from '../../../src/transport/ssh/perl-helper-protocol.js';
import {
  bulkFailure,
  bulkList,
  OP_BULK_WRITE,
  parseBulkAnswer,
  type BulkFile,
} from '../../../src/transport/ssh/bulk-write-protocol.js';
import { gitHashBytes } from '../conformance.js';
import { HOSTILE } from '../../apply/conformance.js';
import { FileHelper } from '../../helpers/file-helper.js';
import { waitFor } from '../../helpers/host.js';
import { processAlive } from '../../helpers/processes.js';
import { PROMPTLY_MS } from '../../helpers/timing.js';

let base: string;
let root: string;
let helper: FileHelper;
let counter = 0;

/** One bulk-write record of `files` (op 30). */
const bulk = (h: FileHelper, files: BulkFile[], mode = 0) =>
  h.send(OP_BULK_WRITE, bulkList(files), { mode, data: Buffer.concat(files.map((f) => f.data)) });

beforeAll(async () => {
  base = await fs.mkdtemp(path.join(os.tmpdir(), 'diffship-bulk-write-'));
});
afterAll(async () => {
  await fs.rm(base, { recursive: true, force: true });
});
beforeEach(async () => {
  root = path.join(base, `r${counter++}`);
  await fs.mkdir(path.join(root, 'd/e'), { recursive: true });
  helper = new FileHelper(root);
});
afterEach(async () => {
  expect(await helper.end()).toBe(0);
  expect(helper.stderr).toBe('');
});

const at = (rel: string) => path.join(root, rel);
const file = (rel: string, data: Buffer | string, mode = 0o644): BulkFile => ({
  rel,
  mode,
  data: Buffer.from(data),
});

describe('the bulk write', () => {
  it('writes many files in one record, exact bytes and modes, and answers their blob ids (sha1, sha256)', async () => {
    const files = [
      file('d/empty', ''),
      file('d/run.sh', '#!/bin/sh\n', 0o755),
      file('d/e/secret', 's\0\n\r\xff', 0o600),
      // Bits the usual umask takes, and a sticky bit: the creation mode alone is not exact (fchmod).
      file('d/shared', 'group and others write', 0o666),
      file('d/e/sticky', 'sticky', 0o1755),
      file('d/e/big.bin', randomBytes(3 * 1024 * 1024 + 17)), // several of the helper's 1 MiB reads
      ...HOSTILE.map((n, i) => file(`d/${n}`, `hostile ${i}`)),
    ];
    const answer = await bulk(helper, files);
    expect(answer).toMatchObject({ ok: true });
    const ids = parseBulkAnswer((answer as { payload: string }).payload, files.length);
    expect(ids).toEqual(files.map((f) => gitHashBytes(f.data)));
    for (const f of files) {
      expect(await fs.readFile(at(f.rel)), f.rel).toEqual(f.data);
      expect((await fs.stat(at(f.rel))).mode & 0o7777, f.rel).toBe(f.mode);
    }
    // Again over the same files: truncated, rewritten, hashed with sha256.
    const again = [file('d/run.sh', 'x', 0o640), file('d/e/big.bin', 'short')];
    const second = await bulk(helper, again, SHA256_FLAG);
    expect(parseBulkAnswer((second as { payload: string }).payload, 2)).toEqual(
      again.map((f) => gitHashBytes(f.data, 'sha256')),
    );
    expect(await fs.readFile(at('d/e/big.bin'), 'utf8')).toBe('short');
    expect((await fs.stat(at('d/run.sh'))).mode & 0o7777).toBe(0o640);
  });

  it('never writes through a link (the refusal names the file), and the stream stays in step', async () => {
    await fs.mkdir(at('elsewhere'));
    await fs.symlink('elsewhere', at('d/link'));
    await fs.writeFile(at('victim'), 'untouched');
    await fs.symlink('../victim', at('d/to-victim'));
    const refusedParent = await bulk(helper, [
      file('d/ok-1', 'one'),
      file('d/link/f', randomBytes(2 * 1024 * 1024)), // its data must still be skipped whole
      file('d/not-written', 'three'),
    ]);
    expect(refusedParent).toMatchObject({ ok: false, errno: 'ELOOP' });
    expect(bulkFailure((refusedParent as { message: string }).message).index).toBe(1);
    expect(await fs.readdir(at('elsewhere'))).toEqual([]);
    await expect(fs.stat(at('d/not-written'))).rejects.toThrow(/ENOENT/);
    const refusedLast = await bulk(helper, [file('d/to-victim', 'overwritten?')]);
    expect(refusedLast).toMatchObject({ ok: false, errno: 'ELOOP' });
    expect(bulkFailure((refusedLast as { message: string }).message).index).toBe(0);
    expect(await fs.readFile(at('victim'), 'utf8')).toBe('untouched');
    // The next records are read where they start.
    expect(await helper.send(OP_WRITE, 'after', { data: Buffer.from('fine'), mode: 0o644 })).toMatchObject({
      ok: true,
    });
    expect(await fs.readFile(at('after'), 'utf8')).toBe('fine');
  });

  it('refuses a list whose sizes do not add up to the data, or a bad entry, writing nothing', async () => {
    const data = Buffer.from('abcdef');
    const short = await helper.send(OP_BULK_WRITE, '644 2 d/a\x00644 2 d/b', { data });
    expect(short).toMatchObject({ ok: false, errno: 'EINVAL' });
    const bad = await helper.send(OP_BULK_WRITE, '9z9 6 d/a', { data });
    expect(bad).toMatchObject({ ok: false, errno: 'EINVAL' });
    expect(await fs.readdir(at('d'))).toEqual(['e']);
    expect(await bulk(helper, [file('d/c', 'fine')])).toMatchObject({ ok: true });
    expect(await fs.readFile(at('d/c'), 'utf8')).toBe('fine');
  });
});

/** The running (not zombie) child processes of `pid`. */
function childrenOf(pid: number): number[] {
  let listed = '';
  try {
    listed = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8');
  } catch {
    return [];
  }
  return listed.split(' ').filter(Boolean).map(Number).filter(processAlive);
}

/** The helper calls syncfs(2) by its number only on x86_64 and aarch64 Linux: elsewhere no sync ahead. */
const syncsAhead = process.platform === 'linux' && (process.arch === 'x64' || process.arch === 'arm64');

describe.runIf(syncsAhead)('the syncs ahead', () => {
  it('run in one child for the whole session, which ends with the helper', async () => {
    const seen = new Set<number>();
    for (let i = 0; i < 10; i++) {
      expect(await bulk(helper, [file(`d/f${i}`, `data ${i}`)])).toMatchObject({ ok: true });
      for (const c of childrenOf(helper.pid)) seen.add(c);
    }
    // Its syncs done, it waits for the next: the same process, still there (a child per
    // record, as before, would have ended by now).
    await new Promise((r) => setTimeout(r, 300));
    expect([...seen]).toHaveLength(1);
    const syncer = [...seen][0]!;
    expect(childrenOf(helper.pid)).toEqual([syncer]);
    expect(await helper.end()).toBe(0);
    await waitFor(() => !processAlive(syncer), PROMPTLY_MS, 'the sync child to end');
    expect(processAlive(syncer)).toBe(false);
  });

  it('stop when the child is gone (reaped), and the writes go on', async () => {
    expect(await bulk(helper, [file('d/a', 'a')])).toMatchObject({ ok: true });
    const [syncer] = childrenOf(helper.pid);
    expect(syncer).toBeDefined();
    // Once its sync is done (its answer waits in the pipe), so that the next record asks it again.
    await new Promise((r) => setTimeout(r, 300));
    process.kill(syncer!, 'SIGKILL');
    await waitFor(() => !processAlive(syncer!), PROMPTLY_MS, 'the killed sync child to end');
    // Asking a dead child (a broken pipe) must not end the helper.
    for (let i = 0; i < 5; i++)
      expect(await bulk(helper, [file(`d/b${i}`, `b${i}`)])).toMatchObject({ ok: true });
    expect(await fs.readFile(at('d/b4'), 'utf8')).toBe('b4');
    // No child started again, and the dead one is reaped, not left a zombie.
    expect(childrenOf(helper.pid)).toEqual([]);
    expect(existsSync(`/proc/${syncer}`)).toBe(false);
  });
});

describe('the bulk answer', () => {
  it('takes exactly one blob id per file', () => {
    const id = 'a'.repeat(40);
    expect(parseBulkAnswer(`${id} ${id}`, 2)).toEqual([id, id]);
    expect(parseBulkAnswer(id, 2)).toBeNull();
    expect(parseBulkAnswer(`${id} nope`, 2)).toBeNull();
    expect(parseBulkAnswer('', 0)).toEqual([]);
    expect(bulkFailure('#12 Permission denied')).toEqual({ index: 12, text: 'Permission denied' });
    expect(bulkFailure('a bad entry')).toEqual({ index: -1, text: 'a bad entry' });
  });
});
