/**
 * walkSorted: the local walk in byte order of paths, one entry at a time (the
 * authoritative merge's input). A real folder with names whose order differs
 * between "sort each folder by name" and "sort full paths by bytes": the sorted
 * walk must give exactly what the ordinary walk gives once sorted, never enter a
 * link, leave the skipped folder out, and lstat only when asked.
 */
import { lstatSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalTransport } from '../../../src/transport/local/local-transport.js';
import type { EntryType } from '../../../src/transport/transport.js';
import { byteOrder } from '../../../src/byte-order.js';
import type { FileStat } from '../../../src/plan/manifest-types.js';
import { tempDir } from '../../helpers/git.js';

let root: string;
let t: LocalTransport;
const FILES = [
  'a-b',
  'a.txt',
  'a/b',
  'a/b-c/d',
  'a/b.c',
  'a0',
  'z/\u{1F600}.txt', // a surrogate pair: sorts after U+E000 in bytes, before it in UTF-16
  'z/\uE000.txt',
  'z/\uFFFD-real.txt',
  '.diffship/state.json',
];
beforeAll(async () => {
  root = tempDir('diffship-sorted-walk-');
  for (const f of FILES) {
    mkdirSync(path.dirname(path.join(root, f)), { recursive: true });
    writeFileSync(path.join(root, f), f);
  }
  // More folders than one turn lists (64), so the walk pauses on the way.
  for (let i = 0; i < 70; i++)
    mkdirSync(path.join(root, 'deep', `d${String(i).padStart(2, '0')}`), { recursive: true });
  symlinkSync('a', path.join(root, 'link-to-a'));
  mkdirSync(path.join(root, 'big'));
  for (let i = 0; i < 5_000; i++) writeFileSync(path.join(root, 'big', `f${i}`), '');
  t = new LocalTransport(root);
  await t.connect();
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('LocalTransport.walkSorted', () => {
  it('gives every entry the walk gives, files in byte order of paths, links not entered', async () => {
    const seen: Array<{ path: string; type: EntryType }> = [];
    await t.walkSorted(['.diffship'], (p, type) => void seen.push({ path: p, type }));
    const walked = await t.walk('', ['.diffship'], { stat: false });
    // The same entries; files and links in byte order of paths. A folder comes where git's tree
    // order puts it (as its name and a slash): right before its own entries.
    expect([...seen].sort((a, b) => byteOrder(a.path, b.path))).toEqual(
      walked.map((e) => ({ path: e.path, type: e.type })),
    );
    const files = seen.filter((e) => e.type !== 'dir').map((e) => e.path);
    expect(files).toEqual([...files].sort(byteOrder));
    const paths = seen.map((e) => e.path);
    expect(paths.indexOf('a.txt')).toBeLessThan(paths.indexOf('a'));
    expect(paths.indexOf('a')).toBe(paths.indexOf('a/b') - 1);
    expect(paths.indexOf('a-b')).toBeLessThan(paths.indexOf('a/b'));
    expect(paths.indexOf('z/\uE000.txt')).toBeLessThan(paths.indexOf('z/\u{1F600}.txt'));
    expect(seen.find((e) => e.path === 'link-to-a')?.type).toBe('symlink');
    expect(paths.some((p) => p.startsWith('link-to-a/'))).toBe(false);
    expect(paths.some((p) => p.startsWith('.diffship'))).toBe(false);
  });

  it('lstats exactly what the visitor asks for, without following links; null once gone', async () => {
    const asked: string[] = [];
    const stats = new Map<string, FileStat | null>();
    await t.walkSorted([], (p, type, exact) => {
      if (p === 'link-to-a' || p === 'a/b.c') {
        asked.push(p);
        stats.set(p, exact(p));
      }
      if (type === 'file' && p === 'a0') stats.set('gone', exact('a0/none'));
    });
    expect(asked).toEqual(['a/b.c', 'link-to-a']);
    const link = lstatSync(path.join(root, 'link-to-a'), { bigint: true });
    expect(stats.get('link-to-a')).toMatchObject({ ino: link.ino.toString(), mode: Number(link.mode) });
    expect(stats.get('a/b.c')?.size).toBe('a/b.c'.length);
    expect(stats.get('gone')).toBeNull();
  });

  it('lets the event loop run within a big folder (the lock’s lease renews meanwhile)', async () => {
    let turns = 0;
    let running = true;
    const tick = () => {
      turns++;
      if (running) setImmediate(tick);
    };
    setImmediate(tick);
    let files = 0;
    await t.walkSorted([], (p, type, exact) => {
      if (p.startsWith('big/')) {
        files++;
        expect(exact(p)).not.toBeNull();
      }
    });
    running = false;
    expect(files).toBe(5_000);
    expect(turns).toBeGreaterThanOrEqual(2); // 5,000 entries: at least two pauses
  });
});
