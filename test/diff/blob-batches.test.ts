/**
 * diff/blob-batches.ts: blobs read through one `git cat-file --batch` of
 * their own, in batches, against a real repository. Every kept blob's bytes
 * are exact, in order, whatever the chunking; big, missing and non-blob
 * objects are skipped (their bytes never handed on); git's output waits while
 * batches are in flight; a batch's failure stops it and is what it rejects with.
 */
import { execFileSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { readBlobBatches } from '../../src/diff/blob-batches.js';
import { makeRepo } from '../helpers/repo.js';
import { git } from '../helpers/git.js';

const repo = makeRepo();
afterAll(() => repo.cleanup());
const files: Record<string, string> = {};
for (let i = 0; i < 300; i++) files[`d/f${i}.txt`] = `file ${i}\n`.repeat(i * 7);
files['big.bin'] = 'b'.repeat(200_000);
const commit = repo.commit(files);
const ids = new Map(
  git(repo.dir, 'ls-tree', '-r', commit)
    .trim()
    .split('\n')
    .map((l) => [l.split('\t')[1]!, l.split(' ')[2]!.split('\t')[0]!]),
);
const content = (oid: string) =>
  execFileSync('git', ['-C', repo.dir, 'cat-file', 'blob', oid]).toString('utf8');

describe('readBlobBatches', () => {
  it('hands on every small blob exactly, in order, in bounded batches; skips big, missing and non-blob objects', async () => {
    const tree = git(repo.dir, 'rev-parse', `${commit}^{tree}`).trim();
    const names = Object.keys(files);
    const oids = [...names.map((n) => ids.get(n)!), 'f'.repeat(40), tree];
    const seen: Array<[number, string]> = [];
    let inFlight = 0;
    let most = 0;
    const skipped = await readBlobBatches(
      repo.dir,
      oids,
      { maxBlob: 100_000, batchBytes: 10_000, batchCount: 7, inFlight: 2 },
      async (indices, bodies) => {
        expect(indices.length).toBeLessThanOrEqual(7);
        most = Math.max(most, ++inFlight);
        await new Promise((r) => setTimeout(r, 2));
        indices.forEach((i, j) => seen.push([i, bodies[j]!.toString('utf8')]));
        inFlight--;
      },
    );
    const big = names.indexOf('big.bin');
    expect(skipped).toEqual([big, oids.length - 2, oids.length - 1]);
    expect(most).toBeLessThanOrEqual(2);
    const kept = oids.map((_, i) => i).filter((i) => !skipped.includes(i));
    expect(seen.map(([i]) => i)).toEqual(kept);
    for (const [i, text] of seen) expect(text, names[i]).toBe(content(oids[i]!));
  });

  it('asks for 30,000 ids, several steps of stdin, while batches hold the output back: every blob in order', async () => {
    // The ids go to git's stdin a step at a time as it takes them (not one string): far more
    // than a step, with one slow batch in flight, so the writes wait on git and git on us.
    const names = Object.keys(files).filter((n) => n !== 'big.bin');
    const oids = Array.from({ length: 30_000 }, (_, i) => ids.get(names[i % names.length]!)!);
    let next = 0;
    let wrong = 0;
    const skipped = await readBlobBatches(
      repo.dir,
      oids,
      { maxBlob: 100_000, batchBytes: 64 * 1024, batchCount: 512, inFlight: 1 },
      async (indices, bodies) => {
        if (next % 10_000 < indices.length) await new Promise((r) => setTimeout(r, 20));
        indices.forEach((i, j) => {
          if (i !== next++ || bodies[j]!.toString('utf8') !== files[names[i % names.length]!]) wrong++;
        });
      },
    );
    expect(skipped).toEqual([]);
    expect(next).toBe(oids.length);
    expect(wrong).toBe(0);
  }, 60_000);

  it("keeps git's output in order when git exits while output is held (Node resumes its streams then)", async () => {
    // One batch in flight, slow batches: git's output is held most of the time, and git ends
    // while it is. The old reader parsed what came after the exit ahead of what it held.
    const names = Object.keys(files).filter((n) => n !== 'big.bin');
    const oids = names.map((n) => ids.get(n)!);
    for (let round = 0; round < 5; round++) {
      const seen: number[] = [];
      await readBlobBatches(
        repo.dir,
        oids,
        { maxBlob: 100_000, batchBytes: 4_000, batchCount: 3, inFlight: 1 },
        async (indices, bodies) => {
          await new Promise((r) => setTimeout(r, 1 + (indices[0]! % 3)));
          indices.forEach((i, j) => {
            expect(bodies[j]!.toString('utf8'), names[i]).toBe(files[names[i]!]);
            seen.push(i);
          });
        },
      );
      expect(seen).toEqual(oids.map((_, i) => i));
    }
  });

  it("rejects with a batch's failure once the others settled, and with git's for a bad name", async () => {
    const oids = Object.keys(files).map((n) => ids.get(n)!);
    let calls = 0;
    await expect(
      readBlobBatches(
        repo.dir,
        oids,
        { maxBlob: 1e6, batchBytes: 1, batchCount: 1, inFlight: 4 },
        async () => {
          if (++calls === 3) throw new Error('the host refused');
        },
      ),
    ).rejects.toThrow('the host refused');
    expect(calls).toBeLessThan(oids.length);
    await expect(
      readBlobBatches(
        repo.dir,
        ['x\ny'],
        { maxBlob: 1, batchBytes: 1, batchCount: 1, inFlight: 1 },
        async () => {},
      ),
    ).rejects.toThrow(/not a blob id/);
  });
});
