/**
 * Strays kept apart (src/plan/observed-entries.ts) and merged into the plan's deletes when read
 * (src/plan/stray-deletes.ts): to the planner and its readers the same as a Map of every entry.
 */
import { describe, expect, it } from 'vitest';
import { ObservedEntries } from '../../src/plan/observed-entries.js';
import { strayList, withStrays } from '../../src/plan/stray-deletes.js';
import { PathColumn } from '../../src/diff/path-column.js';
import { planTarget } from '../../src/plan/plan.js';
import { viewReader } from '../../src/array-view.js';
import { indexReader } from '../../src/diff/listing-view.js';
import type { Change } from '../../src/diff/types.js';
import type { Observed } from '../../src/plan/types.js';
import type { ReleaseFile } from '../../src/plan/context.js';

const FILE: Observed = Object.freeze({ type: 'file', blob: null, mode: 0 });
const DIR: Observed = Object.freeze({ type: 'dir', blob: null, mode: 0 });

describe('ObservedEntries', () => {
  it('answers for its strays as a Map would, in any order they came', () => {
    const o = new ObservedEntries(FILE);
    o.set('a', DIR);
    for (const p of ['a/z', 'a/b', 'a.txt', 'a/m']) o.addStray(p);
    expect(o.size).toBe(5);
    expect(o.strayCount).toBe(4);
    expect(o.get('a/m')).toBe(FILE);
    expect(o.get('a')).toBe(DIR);
    expect(o.get('a/c')).toBeUndefined();
    expect(o.has('a.txt')).toBe(true);
    // Byte order: `a.txt` before `a/b` ('.' < '/').
    expect(o.strays()).toEqual(['a.txt', 'a/b', 'a/m', 'a/z']);
    expect([...o.keys()]).toEqual(['a', 'a.txt', 'a/b', 'a/m', 'a/z']);
    expect([...o.others()].map(([p]) => p)).toEqual(['a']);
  });

  it('gives a stray an entry of its own when set, and forgets one deleted', () => {
    const o = new ObservedEntries(FILE);
    for (const p of ['x/1', 'x/2', 'x/3']) o.addStray(p);
    const seen: Observed = { type: 'file', blob: 'b'.repeat(40), mode: 0o644 };
    o.set('x/2', seen);
    expect(o.get('x/2')).toBe(seen);
    expect(o.size).toBe(3);
    expect(o.strays()).toEqual(['x/1', 'x/3']);
    expect(o.delete('x/3')).toBe(true);
    expect(o.delete('x/3')).toBe(false);
    expect(o.has('x/3')).toBe(false);
    expect(o.size).toBe(2);
    // Set once read (the list settled): taken out by its search, not at the next settle.
    o.set('x/1', seen);
    expect(o.strays()).toEqual([]);
    expect(o.size).toBe(2);
    o.set('x/1', FILE);
    expect(new Map(o)).toEqual(
      new Map([
        ['x/2', seen],
        ['x/1', FILE],
      ]),
    );
  });

  it('sorts names past U+FFFF by their bytes, and finds them', () => {
    const o = new ObservedEntries(FILE);
    // U+1F600 (a surrogate pair) sorts after U+FF5E in UTF-8, before it in UTF-16.
    for (const p of ['d/\u{1F600}', 'd/\uFF5E', 'd/a']) o.addStray(p);
    expect(o.strays()).toEqual(['d/a', 'd/\uFF5E', 'd/\u{1F600}']);
    for (const p of ['d/a', 'd/\uFF5E', 'd/\u{1F600}']) expect(o.has(p)).toBe(true);
    expect(o.has('d/b')).toBe(false);
  });
});

describe('withStrays', () => {
  it('merges sorted items and strays in byte order, each stray made when read', () => {
    const sorted = [{ path: 'b' }, { path: 'd/x' }, { path: 'z' }];
    const strays = ['a', 'c', 'd.txt', 'd/y', 'zz'];
    const made: string[] = [];
    const list = withStrays(
      sorted,
      (i) => i.path,
      strays,
      (path) => (made.push(path), { path }),
    );
    expect(list.length).toBe(8);
    expect(list.map((i) => i.path)).toEqual(['a', 'b', 'c', 'd.txt', 'd/x', 'd/y', 'z', 'zz']);
    expect(list[1]).toBe(sorted[0]);
    // By index without a key string, as the backup and the staging read it.
    const read = viewReader(list)!;
    expect(read(4)).toBe(sorted[1]);
    expect(read(7)).toEqual({ path: 'zz' });
    expect(indexReader(list)(0)).toEqual({ path: 'a' });
    expect(JSON.stringify(list)).toBe(JSON.stringify([...list]));
    // A write makes it a plain array, still the same items.
    list.push({ path: 'zzz' });
    expect(list.map((i) => i.path).slice(-2)).toEqual(['zz', 'zzz']);
    expect(viewReader(list)!(8)).toEqual({ path: 'zzz' });
  });

  it('is the sorted list itself without strays', () => {
    const sorted = [{ path: 'a' }];
    expect(
      withStrays(
        sorted,
        (i) => i.path,
        [],
        (path) => ({ path }),
      ),
    ).toBe(sorted);
  });
});

describe('strayList', () => {
  it('keeps many strays as a column, few as strings, a path too long for a column as strings', () => {
    const many = Array.from(
      { length: 5000 },
      (_, i) => `junk/d${Math.floor(i / 1000)}/s${String(i).padStart(4, '0')}`,
    );
    const list = strayList(many.length);
    for (const p of many) list.push(p);
    const kept = list.done();
    expect(kept).toBeInstanceOf(PathColumn);
    expect(Array.from({ length: kept.length }, (_, i) => kept.at(i))).toEqual(many);
    const few = strayList(3);
    few.push('a');
    expect(few.done()).toEqual(['a']);
    const long = strayList(5000);
    long.push('a');
    long.push(`b/${'x'.repeat(20_000)}`);
    expect(long.done()).toEqual(['a', `b/${'x'.repeat(20_000)}`]);
  });
});

/** One random authoritative plan, its entries given as a plain Map and kept apart: the same plan. */
function planBoth(seed: number, protect: string[], entries = 300) {
  let x = seed;
  const rand = (n: number) => {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    return (x >>> 8) % n;
  };
  const blob = 'a'.repeat(40);
  const release = new Map<string, ReleaseFile>();
  const changes: Change[] = [];
  const plain = new Map<string, Observed>();
  const apart = new ObservedEntries(FILE);
  const strays: string[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < entries; i++) {
    const path = `${['a', 'b', 'b.c', 'keep'][rand(4)]}/${['f', 'g', 'h.txt'][rand(3)]}${rand(entries * 3)}`;
    if (seen.has(path)) continue;
    seen.add(path);
    const kind = rand(4);
    if (kind === 0) {
      changes.push({ status: 'deleted', path, oldMode: '100644', oldBlob: blob });
      plain.set(path, { type: 'file', blob, mode: 0o644 });
      apart.set(path, { type: 'file', blob, mode: 0o644 });
    } else if (kind === 1) {
      // A release file the target holds with other content: repaired.
      release.set(path, { mode: '100644', blob });
      plain.set(path, { type: 'file', blob: 'c'.repeat(40), mode: 0o644 });
      apart.set(path, { type: 'file', blob: 'c'.repeat(40), mode: 0o644 });
    } else strays.push(path);
  }
  // The walk's order for one, another for the other (find's order is none in particular).
  for (const p of strays) plain.set(p, FILE);
  for (const p of [...strays].reverse()) apart.addStray(p);
  const input = {
    diff: {
      from: '1'.repeat(40),
      to: '2'.repeat(40),
      source: '.',
      changes,
      counts: { added: 0, updated: 0, deleted: changes.length, renamed: 0 },
    },
    mode: 'authoritative' as const,
    protect,
    onDrift: 'overwrite' as const,
    stateDir: '.diffship',
    kept: [],
    release,
  };
  const a = planTarget({ ...input, observed: plain });
  const b = planTarget({ ...input, observed: apart });
  return { a, b, strays: strays.length };
}

describe('an authoritative plan with its strays kept apart', () => {
  it('is the plan a Map of every entry gives, deletes and changes in byte order', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const { a, b, strays } = planBoth(seed, seed % 2 ? ['keep/**'] : []);
      expect(strays).toBeGreaterThan(50);
      expect(JSON.parse(JSON.stringify(b))).toEqual(JSON.parse(JSON.stringify(a)));
      expect([...b.deletes]).toEqual(a.deletes);
      const paths = b.deletes.map((d) => d.path);
      expect(paths).toEqual([...paths].sort());
      expect(b.deletes.filter((d) => d.reason === 'stray').length).toBeGreaterThan(0);
    }
  });

  it('is the same with strays enough for a column', () => {
    const { a, b, strays } = planBoth(7, ['keep/**'], 20_000);
    expect(strays).toBeGreaterThan(5000);
    expect(JSON.parse(JSON.stringify(b))).toEqual(JSON.parse(JSON.stringify(a)));
  });
});
