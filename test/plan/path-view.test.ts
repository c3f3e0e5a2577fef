/**
 * A report's path list read from its changes (plan/path-view.ts): to every reader it is the array
 * of their paths (indexing, length, iteration, the array methods, JSON, keys, equality, inspect),
 * each path read from its change when asked; its first write makes it a plain array of the
 * paths, then changed as any array; plainChanges gives a copy structuredClone takes. It holds no
 * slot per path.
 */
import { inspect } from 'node:util';
import v8 from 'node:v8';
import vm from 'node:vm';
import { describe, expect, it } from 'vitest';
import { pathView, plainChanges } from '../../src/plan/path-view.js';
import { emptyChanges } from '../../src/report/types.js';

/** Changes whose path is a getter that counts its reads. */
function changes(paths: string[]): { items: Array<{ readonly path: string }>; reads: () => number } {
  let reads = 0;
  const items = paths.map((p) => ({
    get path() {
      reads++;
      return p;
    },
  }));
  return { items, reads: () => reads };
}

describe('a path view', () => {
  const paths = ['a.txt', 'dir/b.txt', 'dir/é.txt'];

  it('reads as the array of the paths', () => {
    const { items, reads } = changes(paths);
    const view = pathView(items);
    expect(reads()).toBe(0); // nothing is read until asked
    expect(Array.isArray(view)).toBe(true);
    expect(view.length).toBe(3);
    expect(view[1]).toBe('dir/b.txt');
    expect(view[3]).toBeUndefined();
    expect(view['01' as unknown as number]).toBeUndefined(); // not an index
    expect(1 in view && !(3 in view)).toBe(true);
    expect([...view]).toEqual(paths);
    expect(view.map((p) => p.length)).toEqual([5, 9, 9]);
    expect(view.filter((p) => p.startsWith('dir/'))).toEqual(['dir/b.txt', 'dir/é.txt']);
    expect(view.includes('dir/é.txt') && view.indexOf('dir/b.txt') === 1).toBe(true);
    expect(view.slice(1)).toEqual(['dir/b.txt', 'dir/é.txt']);
    expect(Array.isArray(view.slice(1)) && !Object.is(view.slice(), view)).toBe(true);
    expect(['x'].concat(view)).toEqual(['x', ...paths]);
    expect(JSON.stringify({ added: view })).toBe(JSON.stringify({ added: paths }));
    expect(Object.keys(view)).toEqual(['0', '1', '2']);
    expect(view).toEqual(paths);
    expect(inspect(view)).toBe(inspect(paths));
    expect(reads()).toBeGreaterThan(0);
  });

  it('becomes a plain array of the paths at its first write', () => {
    const { items, reads } = changes(['b', 'c', 'a']);
    const sorted = pathView(items);
    expect(sorted.sort()).toBe(sorted);
    expect(sorted).toEqual(['a', 'b', 'c']);
    const before = reads();
    expect(sorted[0]).toBe('a');
    expect(reads()).toBe(before); // the strings are the array's own now
    const pushed = pathView(changes(paths).items);
    expect(pushed.push('z')).toBe(4);
    expect(pushed).toEqual([...paths, 'z']);
    const set = pathView(changes(paths).items);
    set[0] = 'first';
    set.length = 2;
    expect(set).toEqual(['first', 'dir/b.txt']);
    expect(Object.keys(set)).toEqual(['0', '1']);
    const gone = pathView(changes(paths).items);
    delete gone[2];
    expect(gone.length === 3 && !(2 in gone) && gone[1] === 'dir/b.txt').toBe(true);
  });

  it('holds no slot per path: a view of 200,000 costs no heap of its own (1.5 MB of holes before)', () => {
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    const items = Array.from({ length: 200_000 }, (_, i) => ({ path: `f${i}` }));
    gc();
    const before = process.memoryUsage().heapUsed;
    const view = pathView(items);
    gc();
    expect(process.memoryUsage().heapUsed - before).toBeLessThan(100_000);
    expect(view.length).toBe(200_000);
    expect(view[199_999]).toBe('f199999');
    expect(Object.getOwnPropertyDescriptor(view, 'length')).toEqual({
      value: 200_000,
      writable: true,
      enumerable: false,
      configurable: false,
    });
  });

  it('is copied into a plain array for structuredClone', () => {
    const view = pathView(changes(paths).items);
    const report = { ...emptyChanges(), added: view, updated: ['u.txt'] };
    expect(() => structuredClone(report)).toThrow();
    const copy = structuredClone(plainChanges(report));
    expect(copy.added).toEqual(paths);
    expect(copy.updated).toEqual(['u.txt']);
    // Changes without a view are given back as they are.
    const plain = { ...emptyChanges(), added: ['a'] };
    expect(plainChanges(plain)).toBe(plain);
  });
});
