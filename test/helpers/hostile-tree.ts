/**
 * A real folder of hostile names for the local walks' tests (find | sort, find
 * alone, in-process): control characters, a tab, a backslash, a leading dash,
 * characters past U+FFFF, a real U+FFFD, a folder to skip whose name is a
 * pattern, an empty folder, a link, a fifo, a setuid file, a time before 1970
 * and one at 0 seconds. And the in-process sorted walk to compare with.
 */
import { chmodSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { walkSorted } from '../../src/transport/local/sorted-walk.js';
import { expect } from 'vitest';
import type { EntryType, RawEntry } from '../../src/transport/transport.js';
import { statText } from '../../src/apply/manifest-text.js';
import type { FileStat } from '../../src/plan/manifest-types.js';
import { tempDir } from './git.js';

/** The folder the walks skip: its name is a -path pattern that must be taken literally. */
export const SKIP = 'st[a]te*';
export const HOSTILE_FILES = [
  'a-b',
  'a.txt',
  'a/b',
  'a/b-c/d',
  'a/b.c',
  'a0',
  'new\nline',
  'tab\there',
  'space here/x y',
  'back\\slash',
  '-dash',
  'z/\u{1F600}.txt',
  'z/\uE000.txt',
  'z/\uFFFD-real.txt',
  `${SKIP}/state.json`,
  'state/kept', // matches neither the skip's name nor, as a pattern, its path
];

/** One entry a walk gave. */
export interface Seen {
  path: string;
  type: EntryType;
  stat: FileStat | null;
}

export const failWith = (op: string, rel: string, error: unknown) =>
  new Error(`${op} ${rel}: ${String(error)}`);

/** A new folder holding the hostile tree. */
export function makeHostileTree(prefix: string): string {
  const root = tempDir(prefix);
  for (const f of HOSTILE_FILES) {
    mkdirSync(path.dirname(path.join(root, f)), { recursive: true });
    writeFileSync(path.join(root, f), f);
  }
  mkdirSync(path.join(root, 'empty'));
  symlinkSync('a', path.join(root, 'link-to-a'));
  execFileSync('mkfifo', [path.join(root, 'fifo')]);
  chmodSync(path.join(root, 'a0'), 0o4755);
  // A time before 1970 and one at 0 seconds: find's text is not used for them, an lstat is.
  // (touch: Node's utimes takes a negative time as now.)
  execFileSync('touch', ['-d', '1960-01-01 00:00:00.5', path.join(root, 'a/b')]);
  execFileSync('touch', ['-d', '@0.25', path.join(root, 'a.txt')]);
  return root;
}

/** The in-process sorted walk of `root` (sorted-walk.ts), with each entry's exact stat. */
export async function walkInProcess(root: string, skip: readonly string[]): Promise<Seen[]> {
  const seen: Seen[] = [];
  await walkSorted(
    root,
    skip,
    (p, type, exact) => void seen.push({ path: p, type, stat: exact(p) }),
    failWith,
  );
  return seen;
}

/**
 * A raw entry's `statIs` against its exact lstat as a manifest's stat field (between
 * brackets, so the field is read from its offsets), then the same with one digit off in
 * each place, then cut short: what `expectStatAnswers` checks.
 */
export function statAnswers(e: RawEntry, stat: FileStat): boolean[] {
  const field = Buffer.from(`[${statText(stat)}]`);
  const is = [e.statIs(field, 1, field.length - 1)];
  for (let i = 1; i < field.length - 1; i++) {
    if (field[i]! < 0x30 || field[i]! > 0x39) continue;
    const off = Buffer.from(field);
    off[i] = off[i] === 0x39 ? 0x30 : off[i]! + 1;
    is.push(e.statIs(off, 1, off.length - 1));
  }
  is.push(e.statIs(field, 1, field.length - 2));
  return is;
}

/**
 * Every file and link of `expected` had its field recognised, and no altered one: but the
 * two whose times find cannot print exactly (before 1970, at 0 seconds), never recognised
 * (the visitor lstats them).
 */
export function expectStatAnswers(expected: readonly Seen[], answers: ReadonlyMap<string, boolean[]>): void {
  for (const e of expected) {
    if (e.type !== 'file' && e.type !== 'symlink') continue;
    const [whole, ...off] = answers.get(e.path)!;
    expect(whole, e.path).toBe(e.path !== 'a/b' && e.path !== 'a.txt');
    expect(off.length, e.path).toBeGreaterThan(40);
    expect(
      off.every((is) => !is),
      e.path,
    ).toBe(true);
  }
}

/**
 * `found` holds `expected`'s entries in the same order, of the same types; files and links with
 * the same exact stats (a folder's own stat is never asked for: sizes differ by file system).
 * Then the hostile tree's landmarks: a name with a newline, the skipped folder's look-alike
 * kept, the skipped folder left out, a fifo and an empty folder of their types.
 */
export function expectSameEntries(found: readonly Seen[], expected: readonly Seen[], landmarks = true): void {
  expect(found.map((e) => e.path)).toEqual(expected.map((e) => e.path));
  for (const [i, e] of found.entries()) {
    expect(e.type, e.path).toBe(expected[i]!.type);
    if (e.type === 'file' || e.type === 'symlink') expect(e.stat, e.path).toEqual(expected[i]!.stat);
  }
  if (!landmarks) return;
  const paths = found.map((e) => e.path);
  expect(paths).toContain('new\nline');
  expect(paths).toContain('state/kept');
  expect(paths.some((p) => p.startsWith(SKIP))).toBe(false);
  expect(found.find((e) => e.path === 'fifo')?.type).toBe('other');
  expect(found.find((e) => e.path === 'empty')?.type).toBe('dir');
}
