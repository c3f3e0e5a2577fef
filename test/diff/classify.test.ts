import { describe, expect, it } from 'vitest';
import { classify, countChanges, quoteBytes } from '../../src/diff/classify.js';
import { sortByPath } from '../../src/byte-order.js';
import type { RawEntry } from '../../src/diff/raw.js';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const Z = '0'.repeat(40);
const all = () => true;
const add = (path: string): RawEntry => ({
  status: 'A',
  score: 0,
  oldMode: '000000',
  newMode: '100644',
  oldOid: Z,
  newOid: A,
  path,
});
const ren = (oldPath: string, path: string, score = 90): RawEntry => ({
  status: 'R',
  score,
  oldMode: '100644',
  newMode: '100755',
  oldOid: A,
  newOid: B,
  oldPath,
  path,
});

describe('classify', () => {
  it('maps git statuses to SPEC changes with the SPEC fields in order', () => {
    const changes = classify(
      [
        add('a.json'),
        { status: 'M', score: 0, oldMode: '100644', newMode: '100755', oldOid: A, newOid: A, path: 'b.json' },
        { status: 'D', score: 0, oldMode: '100644', newMode: '000000', oldOid: A, newOid: Z, path: 'c.json' },
        ren('d.json', 'd2.json', 97),
        { status: 'T', score: 0, oldMode: '100644', newMode: '120000', oldOid: A, newOid: B, path: 'e' },
      ],
      { prefix: '', filter: all },
    );
    expect(changes).toEqual([
      { status: 'added', path: 'a.json', mode: '100644', blob: A },
      { status: 'updated', path: 'b.json', mode: '100755', blob: A, oldMode: '100644', oldBlob: A },
      { status: 'deleted', path: 'c.json', oldMode: '100644', oldBlob: A },
      {
        status: 'renamed',
        path: 'd2.json',
        oldPath: 'd.json',
        similarity: 97,
        mode: '100755',
        blob: B,
        oldMode: '100644',
        oldBlob: A,
      },
      { status: 'updated', path: 'e', mode: '120000', blob: B, oldMode: '100644', oldBlob: A },
    ]);
    expect(Object.keys(changes[3]!)).toEqual([
      'status',
      'path',
      'oldPath',
      'similarity',
      'mode',
      'blob',
      'oldMode',
      'oldBlob',
    ]);
    expect(countChanges(changes)).toEqual({ added: 1, updated: 2, deleted: 1, renamed: 1 });
  });

  it('strips the source prefix', () => {
    const changes = classify([add('src/x/y.json'), ren('src/a', 'src/b')], { prefix: 'src/', filter: all });
    expect(changes.map((c) => [c.path, 'oldPath' in c ? c.oldPath : undefined])).toEqual([
      ['b', 'a'],
      ['x/y.json', undefined],
    ]);
  });

  it('refuses a path outside the source folder (git broke its promise)', () => {
    expect(() => classify([add('other/x')], { prefix: 'src/', filter: all })).toThrow(/outside/);
  });

  it('turns a rename crossing the filter into an addition or a deletion', () => {
    const filter = (p: string) => !p.startsWith('drafts/');
    const changes = classify(
      [ren('drafts/a.json', 'a.json'), ren('b.json', 'drafts/b.json'), ren('drafts/c', 'drafts/d')],
      {
        prefix: '',
        filter,
      },
    );
    expect(changes).toEqual([
      { status: 'added', path: 'a.json', mode: '100755', blob: B },
      { status: 'deleted', path: 'b.json', oldMode: '100644', oldBlob: A },
    ]);
  });

  it('sorts by UTF-8 bytes, not by JS string order', () => {
    // U+FF5E (EF BD 9E) < U+1F600 (F0 9F 98 80) in bytes, but not in UTF-16 code units.
    const names = ['\u{1F600}.json', '\uFF5E.json', 'Z', 'a', 'a/b', 'a-b', 'a0'];
    const sorted = classify(names.map(add), { prefix: '', filter: all }).map((c) => c.path);
    const byBytes = [...names].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
    expect(sorted).toEqual(byBytes);
    expect(sorted.indexOf('\uFF5E.json')).toBeLessThan(sorted.indexOf('\u{1F600}.json'));
    expect(sortByPath([{ path: 'b' }, { path: 'a' }])).toEqual([{ path: 'a' }, { path: 'b' }]);
  });

  it('refuses a kept name that is not valid UTF-8, and ignores a filtered one', () => {
    const bad: RawEntry = { ...add('f\uFFFD'), pathBytes: Buffer.from([0x66, 0xff]) };
    expect(() => classify([bad], { prefix: '', filter: all })).toThrow(
      expect.objectContaining({
        code: 'E_CONFIG',
        message: expect.stringContaining('"f\\xff" is not valid UTF-8'),
      }),
    );
    expect(classify([bad], { prefix: '', filter: () => false })).toEqual([]);
  });

  it('quotes bytes readably', () => {
    expect(quoteBytes(Buffer.from('a"b\\c\n\xff', 'latin1'))).toBe('"a\\"b\\\\c\\x0a\\xff"');
  });
});
