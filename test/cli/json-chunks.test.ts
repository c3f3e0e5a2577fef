/**
 * A report's JSON in pieces (src/cli/json-chunks.ts): byte for byte what JSON.stringify writes,
 * compact and indented, with its long lists read by their iterators (views) in pieces.
 */
import { describe, expect, it } from 'vitest';
import { jsonChunks } from '../../src/cli/json-chunks.js';
import { arrayView } from '../../src/array-view.js';

class Point {
  constructor(
    readonly x: number,
    readonly y: number,
  ) {}
}

const samples: Array<[string, unknown]> = [
  ['scalars', [1, 'two', true, null, -0, 1e21, 'line\nbreak "quoted" \u2028']],
  ['empty', { a: [], b: {}, c: [[]], d: [{}] }],
  ['left out', { a: undefined, b: () => 1, c: Symbol('s'), d: [undefined, () => 1, Symbol('t')], e: 1 }],
  ['toJSON and classes', { when: new Date(0), at: new Point(1, 2), list: [new Point(3, 4)] }],
  [
    'a report',
    {
      version: 1,
      targets: [
        {
          name: 't',
          changes: { added: ['a', 'b'], deleted: Array.from({ length: 5000 }, (_, i) => `junk/s${i}`) },
          nested: { deeper: [{ x: [1, [2, { y: 'z' }]] }] },
        },
      ],
    },
  ],
  ['only a long list', Array.from({ length: 3000 }, (_, i) => ({ path: `p${i}`, n: i }))],
];

describe('jsonChunks', () => {
  it.each(samples)('%s: the same bytes as JSON.stringify, compact and indented', (_, value) => {
    for (const space of [0, 2, 4])
      expect([...jsonChunks(value, space)].join('')).toBe(JSON.stringify(value, null, space));
  });

  it('writes a long list in pieces, reading a view by its iterator (no item read by index)', () => {
    let indexed = 0;
    const items = Array.from({ length: 200_000 }, (_, i) => `folder/file-${i}`);
    const view = arrayView({
      length: () => items.length,
      read: (i) => items[i]!,
    });
    const spy = new Proxy(view, {
      get(t, key, r) {
        if (typeof key === 'string' && /^\d+$/.test(key)) indexed++;
        return Reflect.get(t, key, r) as unknown;
      },
    });
    const pieces = [...jsonChunks({ changes: { deleted: spy } }, 0)];
    expect(pieces.join('')).toBe(JSON.stringify({ changes: { deleted: items } }));
    expect(indexed).toBe(0);
    expect(pieces.length).toBeGreaterThan(10);
    expect(Math.max(...pieces.map((p) => p.length))).toBeLessThan(200 * 1024);
  });
});
