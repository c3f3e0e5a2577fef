import { describe, expect, it } from 'vitest';
import { parseRawDiff, RawStream, type RawEntry } from '../../src/diff/raw.js';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const Z = '0'.repeat(40);
const rec = (header: string, ...paths: (string | Buffer)[]) =>
  Buffer.concat([Buffer.from(`${header}\0`), ...paths.flatMap((p) => [Buffer.from(p), Buffer.from('\0')])]);

describe('parseRawDiff', () => {
  it('parses every status with exact names', () => {
    const buf = Buffer.concat([
      rec(`:000000 100644 ${Z} ${A} A`, 'new file.json'),
      rec(`:100644 000000 ${A} ${Z} D`, 'line\nbreak'),
      rec(`:100644 100755 ${A} ${A} M`, '-rf'),
      rec(`:100644 120000 ${A} ${B} T`, 'tab\there'),
      rec(`:100644 100644 ${A} ${B} R097`, 'old "q".json', 'new\\name ü.json'),
    ]);
    expect(parseRawDiff(buf)).toEqual([
      {
        status: 'A',
        score: 0,
        oldMode: '000000',
        newMode: '100644',
        oldOid: Z,
        newOid: A,
        path: 'new file.json',
      },
      {
        status: 'D',
        score: 0,
        oldMode: '100644',
        newMode: '000000',
        oldOid: A,
        newOid: Z,
        path: 'line\nbreak',
      },
      { status: 'M', score: 0, oldMode: '100644', newMode: '100755', oldOid: A, newOid: A, path: '-rf' },
      {
        status: 'T',
        score: 0,
        oldMode: '100644',
        newMode: '120000',
        oldOid: A,
        newOid: B,
        path: 'tab\there',
      },
      {
        status: 'R',
        score: 97,
        oldMode: '100644',
        newMode: '100644',
        oldOid: A,
        newOid: B,
        oldPath: 'old "q".json',
        path: 'new\\name ü.json',
      },
    ]);
  });

  it('handles SHA-256 object ids and a 100% rename', () => {
    const a = 'c'.repeat(64);
    const [entry] = parseRawDiff(rec(`:100644 100644 ${a} ${a} R100`, 'x', 'y'));
    expect(entry).toMatchObject({ status: 'R', score: 100, oldOid: a, newOid: a, oldPath: 'x', path: 'y' });
  });

  it('returns nothing for empty output', () => {
    expect(parseRawDiff(Buffer.alloc(0))).toEqual([]);
  });

  it('keeps the bytes of names that are not valid UTF-8, and only of those', () => {
    const bad = Buffer.from([0x66, 0xff, 0x2e, 0x6a]); // "f\xff.j"
    const entries = parseRawDiff(
      Buffer.concat([
        rec(`:000000 100644 ${Z} ${A} A`, bad),
        rec(`:000000 100644 ${Z} ${A} A`, 'real \uFFFD.txt'),
      ]),
    );
    expect(entries[0]!.path).toBe('f\uFFFD.j');
    expect(entries[0]!.pathBytes).toEqual(bad);
    // A genuine U+FFFD in a name is valid UTF-8: no bytes kept.
    expect(entries[1]!.path).toBe('real \uFFFD.txt');
    expect(entries[1]!.pathBytes).toBeUndefined();
  });

  it('keeps the bytes of an invalid old path of a rename', () => {
    const bad = Buffer.from([0xc3, 0x28]);
    const [entry] = parseRawDiff(rec(`:100644 100644 ${A} ${A} R100`, bad, 'ok'));
    expect(entry!.oldPathBytes).toEqual(bad);
    expect(entry!.pathBytes).toBeUndefined();
  });

  it.each([
    ['a truncated record', Buffer.from(`:100644 100644 ${A} ${B} M\0name`)],
    ['a missing path', Buffer.from(`:100644 100644 ${A} ${B} M\0`)],
    ['a copy status', rec(`:100644 100644 ${A} ${B} C100`, 'a', 'b')],
    ['an unmerged status', rec(`:100644 100644 ${A} ${B} U`, 'a')],
    ['a bad score', rec(`:100644 100644 ${A} ${B} R1x`, 'a', 'b')],
    ['a rename without its new path', Buffer.from(`:100644 100644 ${A} ${B} R100\0a\0`)],
    ['quoted output', Buffer.from(`M\t"a\\tb"\0`)],
  ])('rejects %s', (_what, buf) => {
    expect(() => parseRawDiff(buf)).toThrow(expect.objectContaining({ code: 'E_GIT' }));
  });
});

describe('RawStream: the same records, however the output is cut into chunks', () => {
  const collect = (buf: Buffer, cuts: (i: number) => number) => {
    const out: RawEntry[] = [];
    const stream = new RawStream((e) => out.push(parseRawDiff(rawOf(e))[0]!));
    for (let pos = 0, i = 0; pos < buf.length; i++) {
      const next = Math.min(buf.length, pos + cuts(i));
      stream.push(buf.subarray(pos, next));
      pos = next;
    }
    stream.end();
    return out;
  };
  // A record back as bytes (the cursor is only valid during the call): enough to compare.
  const rawOf = (e: RawEntry) =>
    rec(
      `:${e.oldMode} ${e.newMode} ${e.oldOid} ${e.newOid} ${e.status}${e.status === 'R' ? String(e.score).padStart(3, '0') : ''}`,
      ...(e.oldPath !== undefined ? [e.oldPathBytes ?? e.oldPath] : []),
      e.pathBytes ?? e.path,
    );
  const buf = Buffer.concat([
    rec(`:000000 100644 ${Z} ${A} A`, 'new file.json'),
    rec(`:100644 000000 ${A} ${Z} D`, 'line\nbreak ü'),
    rec(`:100644 100755 ${A} ${A} M`, Buffer.from([0x62, 0xff, 0x2e])),
    rec(`:100644 100644 ${A} ${B} R097`, 'old "q" \u{1F600}.json', 'R \u00e9.json'),
    rec(`:100644 120000 ${A} ${B} T`, ':looks like a header'),
  ]);
  const whole = parseRawDiff(buf);

  it.each([1, 2, 3, 7, 64, 1000])('chunks of %i bytes', (size) => {
    expect(collect(buf, () => size)).toEqual(whole);
  });

  it('chunks of changing sizes', () => {
    expect(collect(buf, (i) => 1 + ((i * 37) % 53))).toEqual(whole);
  });

  // All names valid UTF-8: every chunk is read as text, whatever the cut (inside a
  // character, a header, between a rename's paths).
  const utf8 = Buffer.concat([
    rec(`:100644 100644 ${A} ${B} R100`, 'a \u00e9', 'b \u{1F600}'),
    rec(`:000000 100644 ${Z} ${A} A`, 'new file.json'),
    rec(`:100644 000000 ${A} ${Z} D`, 'line\nbreak \u00fc'),
    rec(`:100644 100644 ${A} ${B} R097`, 'old "q" \u{1F600}.json', 'R \u00e9.json'),
  ]);
  it.each([1, 2, 3, 5, 7, 64, 1000])('valid UTF-8 in chunks of %i bytes', (size) => {
    expect(collect(utf8, () => size)).toEqual(parseRawDiff(utf8));
  });

  it('refuses output that ends inside a record, at end()', () => {
    const stream = new RawStream(() => {});
    stream.push(buf.subarray(0, buf.length - 3));
    expect(() => stream.end()).toThrow(expect.objectContaining({ code: 'E_GIT' }));
  });
});

describe('RawEntry.astral', () => {
  const flags = (buf: Buffer) => {
    const seen: (boolean | undefined)[] = [];
    new RawStream((e) => seen.push(e.astral)).push(buf);
    return seen;
  };

  it('is false for names that hold no character past U+FFFF, true when one does', () => {
    expect(flags(rec(`:000000 100644 ${Z} ${A} A`, 'caf\u00e9/\uFB01le'))).toEqual([false]);
    expect(flags(rec(`:000000 100644 ${Z} ${A} A`, 'smile-\u{1F600}.txt'))).toEqual([true]);
  });

  it('is true where names are not valid UTF-8 (decoded field by field)', () => {
    expect(flags(rec(`:000000 100644 ${Z} ${A} A`, Buffer.from([0x61, 0xff])))).toEqual([true]);
  });
});
