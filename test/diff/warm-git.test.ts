/**
 * diff/warm-git.ts: the diff-tree and cat-file an SSH update asks for once its target
 * answered, started ahead. The plan's diff and the staging's blob reads take them over
 * (no second process) and answer exactly as a cold start does; what nobody takes is ended
 * by the drop; a checkout at the release's commit gets no blob reader ahead (the staging reads
 * the checkout). And blob-batches.ts hands its last batch on once the last blob is read, not
 * once git has exited. Real repositories, real git.
 */
import { execFileSync, type ChildProcess } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { warmDeployGit } from '../../src/diff/warm-git.js';
import { GitObjects } from '../../src/diff/git-objects.js';
import { readBlobBatches } from '../../src/diff/blob-batches.js';
import { diffReleases } from '../../src/diff/diff-releases.js';
import type { EarlyGit } from '../../src/diff/early-git.js';
import { makeRepo } from '../helpers/repo.js';
import { git, tempDir } from '../helpers/git.js';

const repo = makeRepo();
const files: Record<string, string> = {};
for (let i = 0; i < 120; i++) files[`wf/f${i}.txt`] = `file ${i}\n`.repeat(i * 3 + 1);
const v1 = repo.commit(files);
const v2 = repo.commit({ ...files, 'wf/f3.txt': 'changed\n', 'wf/new.txt': 'new\n' });
afterAll(() => repo.cleanup());

/** The early processes not taken yet, for any repository (early-git.ts keeps them on globalThis). */
const early = (): EarlyGit[] =>
  (globalThis as unknown as Record<symbol, EarlyGit[] | undefined>)[Symbol.for('diffship.early-git')] ?? [];
/** Each early process's git command (its arguments after the `-c` options). */
const kinds = () =>
  early().map((e) => {
    const args = (JSON.parse(e.key) as [string, string[]])[1];
    return args.find((a, i) => a !== '-c' && args[i - 1] !== '-c');
  });
const exited = (child: ChildProcess) =>
  new Promise<void>((resolve) =>
    child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve()),
  );

let drop: (() => void) | null = null;
afterEach(() => drop?.());

describe('warmDeployGit', () => {
  it('the diff and the blob reads take the processes started ahead, and answer as cold ones do', async () => {
    const cold = await diffReleases({ repo: repo.dir, from: v1, to: v2, source: 'wf' });
    drop = warmDeployGit(repo.dir, { renames: true, source: 'wf' });
    expect(kinds()).toEqual(['diff-tree', 'cat-file']);
    const warm = await diffReleases({ repo: repo.dir, from: v1, to: v2, source: 'wf' });
    expect(kinds()).toEqual(['cat-file']); // the diff-tree was taken
    expect(warm).toEqual(cold);
    expect(warm.changes.map((c) => c.path).sort()).toEqual(['f3.txt', 'new.txt']);

    const oids = Object.keys(files).map((p) => git(repo.dir, 'rev-parse', `${v1}:${p}`).trim());
    const seen: string[] = [];
    const skipped = await readBlobBatches(
      repo.dir,
      oids,
      { maxBlob: 1 << 20, batchBytes: 4096, batchCount: 16, inFlight: 2 },
      async (indices, bodies) => void indices.forEach((i, j) => (seen[i] = bodies[j]!.toString('utf8'))),
    );
    expect(kinds()).toEqual([]); // the cat-file was taken
    expect(skipped).toEqual([]);
    expect(seen).toEqual(Object.values(files));
  });

  it('a diff with other filters starts its own; the drop ends what nobody took', async () => {
    drop = warmDeployGit(repo.dir, { renames: false, source: 'wf' });
    const children = early().map((e) => e.child);
    // Renames on: not what was started (--no-renames), so it is left alone.
    const diff = await diffReleases({ repo: repo.dir, from: v1, to: v2, source: 'wf' });
    expect(diff.changes).toHaveLength(2);
    expect(kinds()).toEqual(['diff-tree', 'cat-file']);
    drop();
    drop = null;
    expect(kinds()).toEqual([]);
    await Promise.all(children.map(exited));
  });

  it("leaves the blob reader to the staging when the repository is a checkout at the release's commit", async () => {
    const objects = new GitObjects(repo.dir);
    try {
      // HEAD is v2: the staging reads the checkout first, no cat-file is started ahead.
      drop = warmDeployGit(repo.dir, { renames: true, source: 'wf', release: { to: v2, objects } });
      expect(kinds()).toEqual(['diff-tree']);
      await objects.lookup('HEAD'); // the check's lookup was answered before this one
      await new Promise((resolve) => setImmediate(resolve));
      expect(kinds()).toEqual(['diff-tree']);
      drop();
      // Another commit than the checkout's: the cat-file starts once HEAD is known.
      drop = warmDeployGit(repo.dir, { renames: true, source: 'wf', release: { to: v1, objects } });
      await objects.lookup('HEAD');
      await new Promise((resolve) => setImmediate(resolve));
      expect(kinds()).toEqual(['diff-tree', 'cat-file']);
      drop();
      // Not a checkout's top (a folder inside it): started at once, as without a release.
      drop = warmDeployGit(join(repo.dir, 'wf'), {
        renames: true,
        source: 'wf',
        release: { to: v2, objects },
      });
      expect(kinds()).toEqual(['diff-tree', 'cat-file']);
    } finally {
      objects.close();
    }
  });

  it('a source the plan refuses starts nothing', () => {
    drop = warmDeployGit(repo.dir, { renames: true, source: '../outside' });
    expect(kinds()).toEqual([]);
  });
});

describe('readBlobBatches hands its last batch on', () => {
  const bin = tempDir('diffship-slow-git-');
  afterAll(() => rmSync(bin, { recursive: true, force: true }));

  it('once the last blob is read, while git has not exited yet', async () => {
    // A `git` first on PATH that runs the real one, then holds its output open for 1.5 s.
    const real = execFileSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).trim();
    writeFileSync(join(bin, 'git'), `#!/bin/sh\n'${real}' "$@"\nsleep 1.5\n`, { mode: 0o755 });
    const oids = Object.keys(files).map((p) => git(repo.dir, 'rev-parse', `${v1}:${p}`).trim());
    const path = process.env.PATH;
    process.env.PATH = `${bin}:${path ?? ''}`;
    const t0 = performance.now();
    let lastAt = -1;
    let reading: Promise<number[]>;
    try {
      reading = readBlobBatches(
        repo.dir,
        oids,
        { maxBlob: 1 << 20, batchBytes: 1 << 20, batchCount: 1000, inFlight: 2 },
        async (indices) => {
          if (indices.includes(oids.length - 1)) lastAt = performance.now() - t0;
        },
      );
    } finally {
      process.env.PATH = path;
    }
    await reading;
    const doneAt = performance.now() - t0;
    expect(lastAt).toBeGreaterThanOrEqual(0);
    expect(doneAt).toBeGreaterThanOrEqual(1400);
    expect(lastAt).toBeLessThan(doneAt - 1000);
  });
});
