/**
 * The walk in find's own order (find-stream.ts, LocalTransport.walkUnordered)
 * against the in-process sorted walk (sorted-walk.ts), on a real folder of
 * hostile names: the same entries (as a set) with the same exact stats; the
 * raw entries' stat text is the manifest's (statText of the exact lstat); what
 * `settle` takes is not visited; a find that fails or is missing says so; a
 * walk stopped by the target's close leaves no find and no temporary file.
 */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalTransport } from '../../../src/transport/local/local-transport.js';
import { startFindStream, visitStream } from '../../../src/transport/local/find-stream.js';
import { lstatExact } from '../../../src/transport/local/sorted-walk.js';
import type { RawEntry } from '../../../src/transport/transport.js';
import {
  expectSameEntries,
  expectStatAnswers,
  failWith,
  makeHostileTree,
  SKIP,
  statAnswers,
  walkInProcess,
  type Seen,
} from '../../helpers/hostile-tree.js';
import { groupGone, liveInGroup, withFind } from '../../helpers/processes.js';

let root: string;
const fail = failWith;
const byPath = (a: Seen, b: Seen) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);
const inProcess = async (skip: readonly string[]) => (await walkInProcess(root, skip)).sort(byPath);

/** Walk `root` in find's order; `settle` as the transport's. */
async function streamed(settle?: (e: RawEntry) => boolean): Promise<{ walked: boolean; seen: Seen[] }> {
  const seen: Seen[] = [];
  const walked = await visitStream(
    startFindStream(root, [SKIP]),
    (p, type, exact) => void seen.push({ path: p, type, stat: exact(p) }),
    (rel) => lstatExact(root, rel, fail),
    (why) => new Error(why),
    settle,
  );
  return { walked, seen: seen.sort(byPath) };
}

/** The temporary files find writes into: none may outlive a walk. */
const walkFiles = () => readdirSync(os.tmpdir()).filter((n) => n.startsWith(`diffship-walk-${process.pid}-`));

beforeAll(() => {
  root = makeHostileTree('diffship-find-stream-');
  // Enough entries that find writes more than one read's worth (256 KiB of records).
  mkdirSync(path.join(root, 'many'));
  for (let i = 0; i < 3000; i++) writeFileSync(path.join(root, `many/file-with-a-longer-name-${i}.txt`), '');
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('walk in find’s order', () => {
  it('gives the in-process walk’s entries and exact stats', async () => {
    const { walked, seen } = await streamed();
    expect(walked).toBe(true);
    const expected = await inProcess([SKIP]);
    expectSameEntries(seen, expected);
    expect(walkFiles()).toEqual([]);
  });

  it('gives each raw entry its exact lstat as a manifest’s stat field, and visits only what settle leaves', async () => {
    const expected = await inProcess([SKIP]);
    const stats = new Map(expected.filter((e) => e.stat !== null).map((e) => [e.path, e.stat!]));
    const answers = new Map<string, boolean[]>();
    const { walked, seen } = await streamed((e) => {
      const path = e.buf.toString('utf8', e.pathStart, e.pathEnd);
      const stat = stats.get(path);
      if (stat) answers.set(path, statAnswers(e, stat));
      return path.startsWith('many/'); // settled: never visited
    });
    expect(walked).toBe(true);
    expectStatAnswers(expected, answers);
    expect(seen.map((e) => e.path)).toEqual(
      expected.map((e) => e.path).filter((p) => !p.startsWith('many/')),
    );
  });

  it('says it did not walk it all where find fails after some records, or is missing', async () => {
    await withFind('#!/bin/sh\n/usr/bin/find "$@"\nexit 1\n', async () => {
      const { walked, seen } = await streamed();
      expect(walked).toBe(false);
      expect(seen.length).toBeGreaterThan(0); // visited, and void
    });
    await withFind('#!/bin/sh\nexec /nonexistent/find "$@"\n', async () => {
      expect((await streamed()).walked).toBe(false);
    });
    expect(walkFiles()).toEqual([]);
  });

  it('says it did not walk where no temporary file can be made (the caller walks sorted)', async () => {
    const saved = process.env.TMPDIR;
    process.env.TMPDIR = path.join(root, 'no-such-folder');
    const t = new LocalTransport(root);
    await t.connect();
    try {
      t.prewalkUnordered([SKIP]);
      let visited = 0;
      expect(await t.walkUnordered([SKIP], () => void visited++)).toBe(false);
      expect(visited).toBe(0);
    } finally {
      if (saved === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = saved;
      await t.close();
    }
  });

  it('a walk started ahead is used once; a sorted walk asked instead stops it', async () => {
    const t = new LocalTransport(root);
    await t.connect();
    try {
      t.prewalkUnordered([SKIP]);
      const first: string[] = [];
      expect(await t.walkUnordered([SKIP], (p) => void first.push(p))).toBe(true);
      expect(first.sort()).toEqual((await inProcess([SKIP])).map((e) => e.path));
      await withFind('#!/bin/sh\nexec sleep 60\n', async () => {
        t.prewalkUnordered([SKIP]);
        const pid = (t as unknown as { walks: { prestream: { child: { pid: number } } } }).walks.prestream
          .child.pid;
        expect(liveInGroup(pid).length).toBeGreaterThan(0);
        const sorted: string[] = [];
        // The sorted walk's own find hangs too: stopped by the close below.
        const walking = t.walkSorted([SKIP], (p) => void sorted.push(p));
        expect(await groupGone(pid)).toEqual([]);
        await t.close();
        await expect(walking).rejects.toThrow(/stopped/);
      });
    } finally {
      await t.close();
    }
    expect(walkFiles()).toEqual([]);
  });

  it('a walk being read when the target closes is stopped, find with it, and leaves no file', async () => {
    await withFind('#!/bin/sh\n/usr/bin/find "$@"\nexec sleep 60\n', async () => {
      const t = new LocalTransport(root);
      await t.connect();
      let visited = 0;
      const walking = t.walkUnordered([], () => void visited++);
      // Every record is read by now; find's shell sleeps.
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(visited).toBeGreaterThan(3000);
      const pid = (t as unknown as { walks: { streaming: { child: { pid: number } } } }).walks.streaming.child
        .pid;
      await t.close();
      await expect(walking).rejects.toThrow(/stopped/);
      expect(await groupGone(pid)).toEqual([]);
    });
    expect(walkFiles()).toEqual([]);
  });
});
