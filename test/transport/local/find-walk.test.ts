/**
 * The sorted walk from find and sort (find-walk.ts) against the in-process one
 * (sorted-walk.ts), on a real folder of hostile names: the same entries in the
 * same order, with the same exact stats, the skipped folder left out even when
 * its name is a pattern. Where find cannot walk (here: a find without -printf
 * first on PATH), LocalTransport walks in-process and gives the same.
 */
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalTransport } from '../../../src/transport/local/local-transport.js';
import { startFindWalk, stopFindWalk, visitFound } from '../../../src/transport/local/find-walk.js';
import { statOf } from '../../../src/transport/local/find-records.js';
import { lstatExact, walkSorted } from '../../../src/transport/local/sorted-walk.js';
import { tempDir } from '../../helpers/git.js';
import {
  expectSameEntries,
  expectStatAnswers,
  failWith,
  HOSTILE_FILES,
  makeHostileTree,
  SKIP,
  statAnswers,
  walkInProcess,
  type Seen,
} from '../../helpers/hostile-tree.js';
import { groupGone, liveInGroup, withFind } from '../../helpers/processes.js';

let root: string;
const FILES = HOSTILE_FILES;
const fail = failWith;
const inProcess = (skip: readonly string[]) => walkInProcess(root, skip);

beforeAll(() => {
  root = makeHostileTree('diffship-find-walk-');
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('find walk', () => {
  it('gives the in-process walk’s entries, order and exact stats', async () => {
    const found: Seen[] = [];
    const w = startFindWalk(root, [SKIP]);
    const walked = await visitFound(
      w,
      (p, type, exact) => void found.push({ path: p, type, stat: exact(p) }),
      (rel) => lstatExact(root, rel, fail),
      (why) => new Error(why),
      () => Promise.reject(new Error('not split')),
    );
    expect(walked).toBe(true);
    const expected = await inProcess([SKIP]);
    expectSameEntries(found, expected);
    expect(found.find((e) => e.path === 'link-to-a')?.type).toBe('symlink');
    expect(found.some((e) => e.path.startsWith('link-to-a/'))).toBe(false);
    expect(found.find((e) => e.path === 'a0')?.stat?.mode).toBe(0o104755);
  });

  it('split into ranges (a big tree), gives the same entries, order and stats: at the root and below a lone folder', async () => {
    const nested = tempDir('diffship-find-walk-nested-');
    try {
      // One folder at the top (the split goes below it) with files beside it, either side in order.
      for (const f of [...FILES.map((f) => `top/${f}`), '0', 'top-x', 'top.x', 'z~', `${SKIP}/state.json`]) {
        mkdirSync(path.dirname(path.join(nested, f)), { recursive: true });
        writeFileSync(path.join(nested, f), f);
      }
      symlinkSync('top', path.join(nested, 'top/link-up'));
      for (const [dir, split] of [
        [root, ''],
        [nested, 'top'],
      ] as const) {
        const w = startFindWalk(dir, [SKIP], 1_000_000);
        expect(w.split?.dir).toBe(split);
        expect(w.split!.parts.length).toBeGreaterThan(2);
        expect(w.rest === null).toBe(split === '');
        const found: Seen[] = [];
        const walked = await visitFound(
          w,
          (p, type, exact) => void found.push({ path: p, type, stat: exact(p) }),
          (rel) => lstatExact(dir, rel, fail),
          (why) => new Error(why),
          () => Promise.reject(new Error('every range was walked by find')),
        );
        expect(walked).toBe(true);
        const expected: Seen[] = [];
        await walkSorted(
          dir,
          [SKIP],
          (p, type, exact) => void expected.push({ path: p, type, stat: exact(p) }),
          fail,
        );
        expectSameEntries(found, expected, false);
      }
    } finally {
      rmSync(nested, { recursive: true, force: true });
    }
  });

  it('offers settle each entry’s bytes in order, its exact stat as a manifest field, and visits only what it leaves: whole and split', async () => {
    const expected = await inProcess([SKIP]);
    const stats = new Map(expected.filter((e) => e.stat !== null).map((e) => [e.path, e.stat!]));
    // Settled: the files and links whose paths have an even length (found in every range).
    const settled = (p: string, type: string) =>
      (type === 'file' || type === 'symlink') && p.length % 2 === 0;
    for (const size of [0, 1_000_000]) {
      const w = startFindWalk(root, [SKIP], size);
      expect(w.split !== null, String(size)).toBe(size > 0);
      const offered: string[] = [];
      const visited: string[] = [];
      const answers = new Map<string, boolean[]>();
      const walked = await visitFound(
        w,
        (p) => void visited.push(p),
        (rel) => lstatExact(root, rel, fail),
        (why) => new Error(why),
        () => Promise.reject(new Error('every range was walked by find')),
        (e) => {
          const p = e.buf.toString('utf8', e.pathStart, e.pathEnd);
          offered.push(p);
          const stat = stats.get(p);
          if (stat) answers.set(p, statAnswers(e, stat));
          return settled(p, e.type);
        },
      );
      expect(walked).toBe(true);
      expect(offered).toEqual(expected.map((e) => e.path));
      expect(visited).toEqual(expected.filter((e) => !settled(e.path, e.type)).map((e) => e.path));
      expect(visited.length).toBeLessThan(expected.length - 5);
      // A range's records start with `./`: their fields are still read up to the path's own start.
      expectStatAnswers(expected, answers);
    }
  });

  it('a range find cannot walk is walked in-process, in its place', async () => {
    // find fails for the ranges (their start points are not `.`), not for the rest.
    await withFind(
      '#!/bin/sh\nif [ "$1" = . ]; then exec /usr/bin/find "$@"; fi\necho "find: no" >&2\nexit 1\n',
      async () => {
        const t = new LocalTransport(root);
        await t.connect();
        t.prewalkSorted([SKIP], 1_000_000);
        const seen: string[] = [];
        await t.walkSorted([SKIP], (p) => void seen.push(p));
        await t.close();
        expect(seen).toEqual((await inProcess([SKIP])).map((e) => e.path));
      },
    );
  });

  it('a walk that ended before it is read keeps its output (not walked again in-process)', async () => {
    for (const expected of [0, 1_000_000]) {
      const w = startFindWalk(root, [SKIP], expected);
      await new Promise((resolve) => setTimeout(resolve, 1000)); // find and sort are done
      const seen: string[] = [];
      const walked = await visitFound(
        w,
        (p) => void seen.push(p),
        () => null,
        (why) => new Error(why),
        () => Promise.reject(new Error('every range was walked by find')),
      );
      expect(walked).toBe(true);
      expect(seen).toEqual((await inProcess([SKIP])).map((e) => e.path));
    }
  });

  it('reads ns from find’s text, and leaves times it cannot read exactly to an lstat', () => {
    expect(statOf('f 12 1796232104.0269497500 1796232105.1000000000 77 644 a')).toEqual({
      size: 12,
      mtimeNs: '1796232104026949750',
      ctimeNs: '1796232105100000000',
      ino: '77',
      mode: 0o100644,
    });
    expect(statOf('l 1 1796232104.0269497500 1796232105.1000000000 77 777 a')?.mode).toBe(0o120777);
    expect(statOf('f 12 1796232104.02694975 1796232105.1000000000 77 644 a')).toBeNull(); // 8 digits
    expect(statOf('f 12 -1.5000000000 1796232105.1000000000 77 644 a')).toBeNull();
    expect(statOf('f 12 0.2500000000 1796232105.1000000000 77 644 a')).toBeNull();
    expect(statOf('f 12 1796232104 1796232105.1000000000 77 644 a')).toBeNull();
  });

  it('says it cannot walk, before visiting anything, where find lacks -printf', async () => {
    await withFind('#!/bin/sh\necho "find: unknown predicate \'-printf\'" >&2\nexit 1\n', async () => {
      let visited = 0;
      const w = startFindWalk(root, [SKIP]);
      const walked = await visitFound(
        w,
        () => void visited++,
        () => null,
        (why) => new Error(why),
        () => Promise.reject(new Error('not split')),
      );
      expect(walked).toBe(false);
      expect(visited).toBe(0);
      // The transport then walks in-process: the same entries.
      const t = new LocalTransport(root);
      await t.connect();
      const seen: string[] = [];
      await t.walkSorted([SKIP], (p) => void seen.push(p));
      await t.close();
      expect(seen).toEqual((await inProcess([SKIP])).map((e) => e.path));
    });
  });

  it('a walk started ahead is used once; one with other folders to skip is walked anew', async () => {
    const t = new LocalTransport(root);
    await t.connect();
    t.prewalkSorted([SKIP]);
    const first: string[] = [];
    await t.walkSorted([SKIP], (p) => void first.push(p));
    t.prewalkSorted([SKIP]);
    const other: string[] = [];
    await t.walkSorted([], (p) => void other.push(p));
    await t.close();
    expect(first).toEqual((await inProcess([SKIP])).map((e) => e.path));
    expect(other).toEqual((await inProcess([])).map((e) => e.path));
    expect(other.some((p) => p.startsWith(SKIP))).toBe(true);
  });

  it('a walk being read when the target closes is stopped, find and sort with it', async () => {
    await withFind('#!/bin/sh\nexec sleep 60\n', async () => {
      const t = new LocalTransport(root);
      await t.connect();
      let visited = 0;
      const walking = t.walkSorted([], () => void visited++);
      await new Promise((resolve) => setTimeout(resolve, 200));
      await t.close();
      await expect(walking).rejects.toThrow(/stopped/);
      expect(visited).toBe(0);
    });
  });

  it('a walk nobody reads is stopped, find and sort with it, every range’s too', async () => {
    // A find that would run for a minute: only stopping its process group ends it sooner.
    await withFind('#!/bin/sh\nexec sleep 60\n', async () => {
      for (const expected of [0, 1_000_000]) {
        const w = startFindWalk(root, [], expected);
        await new Promise((resolve) => setTimeout(resolve, 200)); // find (sleep) is running
        const pipelines = [w.rest, ...(w.split?.parts ?? []).map((p) => p.pipeline)].filter(
          (p) => p !== null,
        );
        // Split: the first two ranges run, the next ones wait for them.
        expect(pipelines.length).toBe(expected === 0 ? 1 : 2);
        for (const p of pipelines) expect(liveInGroup(p.child.pid!).length).toBeGreaterThan(0);
        stopFindWalk(w);
        for (const p of pipelines) {
          expect(await p.exited).not.toBe(0);
          // Its members die with the shell; a zombie left for init to reap is dead too.
          expect(await groupGone(p.child.pid!)).toEqual([]);
        }
        // None started after the stop.
        expect(w.split?.parts.filter((p) => p.pipeline !== null).length ?? 0).toBe(expected === 0 ? 0 : 2);
      }
    });
  });
});
