/**
 * GitObjects.openBlob: a blob streamed out of one real `git cat-file --batch`
 * in bounded chunks, with git held back while the consumer is behind, and the
 * answers behind it still flowing after a consumer gives up part way.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GitObjects, WHOLE_MAX } from '../../src/diff/git-objects.js';
import { HIGH_WATER } from '../../src/diff/blob-body.js';
import { gitBlobId } from '../../src/diff/blob.js';
import { createRepo, type TestRepo } from './git-repo.js';

/** Bytes no compressor shrinks much, different at every offset (a shifted chunk shows). */
function noise(size: number, seed: number): Buffer {
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

/** One pipe read of git's output: the most a chunk can exceed HIGH_WATER by. */
const PIPE_READ = 64 * 1024;
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('GitObjects.openBlob', () => {
  let r: TestRepo;
  const big = noise(20 * 1024 * 1024 + 5, 7);
  const other = noise(2 * 1024 * 1024 + 3, 11);
  const small = Buffer.from('small file\n');
  const [bigId, otherId, smallId] = [big, other, small].map((b) => gitBlobId(b));

  beforeAll(() => {
    r = createRepo();
    r.write({ 'big.bin': big, 'other.bin': other, 'small.txt': small });
    r.commit();
  });
  afterAll(() => r.cleanup());

  it('streams a big blob in chunks no larger than a pipe read, and git waits while the reader is behind', async () => {
    const objects = new GitObjects(r.dir);
    try {
      const body = await objects.openBlob(bigId!);
      expect(body.size).toBe(big.length);
      // Nobody reads for a while: git must not push the whole 20 MiB into memory meanwhile.
      await pause(300);
      expect(body.buffered).toBeGreaterThan(0);
      expect(body.buffered).toBeLessThanOrEqual(HIGH_WATER + PIPE_READ);
      let at = 0;
      let largest = 0;
      let mostBuffered = 0;
      for await (const chunk of body) {
        expect(chunk.equals(big.subarray(at, at + chunk.length))).toBe(true);
        at += chunk.length;
        largest = Math.max(largest, chunk.length);
        mostBuffered = Math.max(mostBuffered, body.buffered);
        if (at % 7 === 0) await pause(1); // a slow consumer now and then
      }
      expect(at).toBe(big.length);
      expect(largest).toBeLessThanOrEqual(PIPE_READ);
      expect(mostBuffered).toBeLessThanOrEqual(HIGH_WATER + PIPE_READ);
    } finally {
      objects.close();
    }
  });

  it('hands small blobs over whole, and serves requests made together in order', async () => {
    const objects = new GitObjects(r.dir);
    try {
      const ids = [smallId!, bigId!, otherId!, smallId!, otherId!];
      const bodies = ids.map((id) => objects.openBlob(id));
      const expected = [small, big, other, small, other];
      for (const [i, pending] of bodies.entries()) {
        const body = await pending;
        const chunks: Buffer[] = [];
        for await (const chunk of body) chunks.push(chunk);
        expect(Buffer.concat(chunks).equals(expected[i]!)).toBe(true);
        if (body.size <= WHOLE_MAX) expect(chunks).toHaveLength(1);
      }
    } finally {
      objects.close();
    }
  });

  it('a consumer that gives up part way: the rest of its blob is skipped, the next answers are right', async () => {
    const objects = new GitObjects(r.dir);
    try {
      const first = objects.openBlob(bigId!);
      const next = objects.openBlob(otherId!);
      const lookup = objects.readBlob(smallId!);
      let taken = 0;
      for await (const chunk of await first) {
        taken += chunk.length;
        if (taken > 1024 * 1024) break; // leaving the loop discards the rest
      }
      expect(taken).toBeLessThan(big.length);
      const chunks: Buffer[] = [];
      for await (const chunk of await next) chunks.push(chunk);
      expect(Buffer.concat(chunks).equals(other)).toBe(true);
      expect((await lookup).equals(small)).toBe(true);
      // A body dropped before it was read at all (a write that failed to open its file).
      const unread = await objects.openBlob(bigId!);
      const after = objects.readBlob(otherId!);
      unread.discard();
      expect((await after).equals(other)).toBe(true);
    } finally {
      objects.close();
    }
  });

  it('git killed mid-blob: the reader fails with E_GIT, later lookups too, nothing hangs', async () => {
    const objects = new GitObjects(r.dir);
    const body = await objects.openBlob(bigId!);
    const proc = (objects as unknown as { proc: { kill(signal: string): void } }).proc;
    const reading = (async () => {
      let n = 0;
      for await (const chunk of body) {
        n += chunk.length;
        if (n > 512 * 1024) proc.kill('SIGKILL');
        await pause(1);
      }
      return n;
    })();
    await expect(reading).rejects.toMatchObject({
      code: 'E_GIT',
      message: expect.stringMatching(/ended early/),
    });
    await expect(objects.openBlob(smallId!)).rejects.toMatchObject({ code: 'E_GIT' });
    objects.close();
  });
});
