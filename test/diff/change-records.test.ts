import { runInNewContext } from 'node:vm';
import v8 from 'node:v8';
import { describe, expect, it } from 'vitest';
import { ChangeRecords } from '../../src/diff/change-records.js';
import { classify, countChanges, type ClassifyOptions } from '../../src/diff/classify.js';
import { notIgnoreFile } from '../../src/diff/ignore.js';
import { parseRawDiff } from '../../src/diff/raw.js';
import type { Change } from '../../src/diff/types.js';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const Z = '0'.repeat(40);
const S = 'c'.repeat(64);
const rec = (header: string, ...paths: (string | Buffer)[]) =>
  Buffer.concat([Buffer.from(`${header}\0`), ...paths.flatMap((p) => [Buffer.from(p), Buffer.from('\0')])]);

const whole: ClassifyOptions = { prefix: '', filter: notIgnoreFile };

/** ChangeRecords fed `buf` in pieces of `cuts(i)` bytes: the sorted changes and the counts. */
function records(buf: Buffer, options = whole, cuts: (i: number) => number = () => buf.length) {
  const sink = new ChangeRecords(options);
  for (let pos = 0, i = 0; pos < buf.length; i++) {
    const next = Math.min(buf.length, pos + cuts(i));
    sink.push(buf.subarray(pos, next));
    pos = next;
  }
  sink.end();
  return { changes: sink.sorted(), counts: sink.counts };
}

/** The general parser's answer, as JSON text (field order included). */
const expected = (buf: Buffer, options = whole) => JSON.stringify(classify(parseRawDiff(buf), options));
const json = (changes: Change[]) => JSON.stringify(changes);

// In git's order (byte order of the paths), every status, UTF-8 names, the ignore file left out.
const plain = Buffer.concat([
  rec(`:000000 100644 ${Z} ${A} A`, '.diffshipignore'),
  rec(`:100644 100644 ${A} ${B} R097`, 'app/old "q".json', 'app/a \u00e9.json'),
  rec(`:000000 100644 ${Z} ${A} A`, 'app/b\nline.json'),
  rec(`:100644 000000 ${A} ${Z} D`, 'app/c \u{1F600}.json'),
  rec(`:100644 100755 ${A} ${B} M`, 'app/d.sh'),
  rec(`:100644 120000 ${A} ${B} T`, 'app/e'),
  rec(`:000000 160000 ${Z} ${B} A`, 'app/f-sub'),
]);

describe('ChangeRecords: the same change set as the general parser', () => {
  it.each([1, 2, 3, 7, 64, 99, 100, 1000, 100_000])('chunks of %i bytes', (size) => {
    const { changes, counts } = records(plain, whole, () => size);
    expect(json(changes)).toBe(expected(plain));
    expect(counts).toEqual(countChanges(changes));
  });

  it('keeps changes that came in byte order as they came (nothing to sort)', () => {
    const sink = new ChangeRecords(whole);
    sink.push(plain);
    sink.end();
    expect(sink.sorted()).toBe(sink.changes);
  });

  it('chunks of changing sizes, with a source prefix and a filter', () => {
    const options = { prefix: 'app/', filter: (p: string) => !p.endsWith('.sh') };
    const inApp = plain.subarray(rec(`:000000 100644 ${Z} ${A} A`, '.diffshipignore').length);
    const { changes } = records(inApp, options, (i) => 1 + ((i * 37) % 53));
    expect(changes.map((c) => c.path)).toEqual([
      'a \u00e9.json',
      'b\nline.json',
      'c \u{1F600}.json',
      'e',
      'f-sub',
    ]);
    expect(json(changes)).toBe(expected(inApp, options));
  });

  it('keeps half of a rename that crosses the filter', () => {
    const buf = rec(`:100644 100644 ${A} ${B} R090`, 'keep/x', 'drop/x');
    const options = { prefix: '', filter: (p: string) => p.startsWith('keep/') };
    expect(records(buf, options).changes).toEqual([
      { status: 'deleted', path: 'keep/x', oldMode: '100644', oldBlob: A },
    ]);
  });

  it('reads SHA-256 ids', () => {
    const buf = rec(`:100644 100644 ${S} ${S} R100`, 'a', 'b');
    expect(json(records(buf, whole, () => 33).changes)).toBe(expected(buf));
  });

  it('sorts paths that come out of byte order (U+E000 sorts before an astral character)', () => {
    const buf = Buffer.concat([
      rec(`:000000 100644 ${Z} ${A} A`, 'b'),
      rec(`:000000 100644 ${Z} ${A} A`, 'x\u{1F600}'),
      rec(`:000000 100644 ${Z} ${A} A`, 'x\uE000'),
      rec(`:000000 100644 ${Z} ${A} A`, 'a'),
    ]);
    const { changes } = records(buf, whole, () => 40);
    expect(changes.map((c) => c.path)).toEqual(['a', 'b', 'x\uE000', 'x\u{1F600}']);
    expect(json(changes)).toBe(expected(buf));
  });

  it('hands what is not plain to the general parser: a mode it does not know, a short id, a name that is not UTF-8 but excluded', () => {
    const buf = Buffer.concat([
      rec(`:000000 100644 ${Z} ${A} A`, 'a'),
      rec(`:100664 100644 ${A} ${B} M`, 'b'),
      rec(`:100644 100644 ${A.slice(1)} ${B} M`, 'bb'),
      rec(`:000000 100644 ${Z} ${A} A`, Buffer.from([0x63, 0xff])),
      rec(`:000000 100644 ${Z} ${A} A`, 'd'),
    ]);
    const options = { prefix: '', filter: (p: string) => !p.startsWith('c') };
    for (const size of [5, 1000]) {
      const { changes, counts } = records(buf, options, () => size);
      expect(changes.map((c) => c.path)).toEqual(['a', 'b', 'bb', 'd']);
      expect(json(changes)).toBe(expected(buf, options));
      expect(counts).toEqual({ added: 2, updated: 2, deleted: 0, renamed: 0 });
    }
  });

  const all = { prefix: '', filter: () => true };
  it.each([
    [
      'a kept name that is not UTF-8',
      rec(`:000000 100644 ${Z} ${A} A`, Buffer.from([0x61, 0xff])),
      all,
      'E_CONFIG',
    ],
    [
      'a path outside the source folder',
      rec(`:000000 100644 ${Z} ${A} A`, 'other/x'),
      { ...all, prefix: 'app/' },
      'E_GIT',
    ],
    ['an unknown status', rec(`:100644 100644 ${A} ${B} X`, 'a'), all, 'E_GIT'],
    ['a rename without its second path', rec(`:100644 100644 ${A} ${B} R090`, 'a'), all, 'E_GIT'],
  ])('refuses %s as the general parser does', (_what, buf, options, code) => {
    const error = (() => {
      try {
        expected(buf, options);
      } catch (e) {
        return e as Error;
      }
      throw new Error('the general parser took it');
    })();
    expect(error).toMatchObject({ code });
    for (const size of [7, 1000])
      expect(() => records(buf, options, () => size)).toThrow(
        expect.objectContaining({ code, message: error.message }),
      );
  });

  it('refuses output that ends inside a record', () => {
    expect(() => records(plain.subarray(0, plain.length - 3))).toThrow(
      expect.objectContaining({ code: 'E_GIT' }),
    );
  });
});

describe('ChangeRecords: memory', () => {
  it("keeps its own strings, not slices that hold git's whole output alive", () => {
    v8.setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const used = () => (gc(), gc(), v8.getHeapStatistics().used_heap_size);
    // 200,000 additions with short names: each record is ~110 bytes of git output, of which
    // a change needs the name (8) and one id (40).
    const n = 200_000;
    const parts: Buffer[] = [];
    for (let i = 0; i < n; i++)
      parts.push(rec(`:000000 100644 ${Z} ${(i % 10) + A.slice(1)} A`, `d/${String(i).padStart(6, '0')}`));
    const buf = Buffer.concat(parts);
    parts.length = 0;
    const before = used();
    const { changes } = records(buf, whole, () => 65_536);
    const perChange = (used() - before) / n;
    expect(changes).toHaveLength(n);
    // Own strings: ~144 bytes a change (object, name, id, array slot; 64-bit pointers); slices
    // of the decoded chunks: ~240, the chunks' text included.
    expect(perChange).toBeLessThan(190);
  });
});
