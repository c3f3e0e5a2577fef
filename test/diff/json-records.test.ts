/**
 * CompactJson (the compact `--json` list written from git's raw bytes) must give
 * the very bytes the general path gives (classify + JSON.stringify), whatever
 * the chunking, and must hand over (ok = false) whenever it can't: out of byte
 * order, a kept name that is not UTF-8, a malformed record.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classify, type ClassifyOptions } from '../../src/diff/classify.js';
import { notIgnoreFile } from '../../src/diff/ignore.js';
import { CompactJson } from '../../src/diff/json-records.js';
import { parseRawDiff } from '../../src/diff/raw.js';
import { SUBMODULE_MODE } from '../../src/diff/types.js';
import { gitBytes } from '../helpers/git.js';
import { createRepo, type TestRepo } from './git-repo.js';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const Z = '0'.repeat(40);
const record = (header: string, ...paths: (string | Buffer)[]) =>
  Buffer.concat([Buffer.from(`${header}\0`), ...paths.flatMap((p) => [Buffer.from(p), Buffer.from('\0')])]);

/** Feed `raw` in pieces of `size` bytes; the array's inside as text, or null when it handed over. */
function compact(raw: Buffer, options: ClassifyOptions, size = raw.length || 1) {
  const json = new CompactJson(options);
  for (let at = 0; at < raw.length; at += size) json.push(raw.subarray(at, at + size));
  const ok = json.end();
  return { ok, json, text: ok ? Buffer.concat(json.body).toString('utf8') : null };
}

/** What the general path writes for the same records: JSON.stringify's array, without its brackets. */
function general(raw: Buffer, options: ClassifyOptions): string {
  return JSON.stringify(classify(parseRawDiff(raw), options)).slice(1, -1);
}

const all: ClassifyOptions = { prefix: '', filter: notIgnoreFile };

describe('CompactJson: same bytes as classify + JSON.stringify', () => {
  // Every byte JSON escapes (C0 controls, quote, backslash), DEL, and UTF-8 of all lengths.
  const controls = Array.from({ length: 31 }, (_, i) => String.fromCharCode(i + 1)).join('');
  const raw = Buffer.concat([
    record(`:100644 100644 ${A} ${B} R097`, `old ${controls}`, 'a "quoted" \\ name'),
    record(`:000000 100644 ${Z} ${A} A`, 'b\u007f\u2028\u00e9'),
    record(`:000000 160000 ${Z} ${A} A`, 'c-submodule'),
    record(`:100644 000000 ${A} ${Z} D`, 'd\n\t\r\b\f'),
    record(`:100644 120000 ${A} ${B} T`, 'e-link'),
    record(`:100644 100755 ${A} ${B} M`, 'f\u{1F600}'),
    record(`:160000 000000 ${A} ${Z} D`, 'g-submodule-gone'),
    record(`:000000 100644 ${Z} ${A} A`, '.diffshipignore'),
    record(`:100644 100644 ${A} ${B} R100`, 'zz-old', 'h-new'),
  ]);

  it.each([1, 2, 7, 64, 100, 4096])('in chunks of %i bytes', (size) => {
    const { ok, text, json } = compact(raw, all, size);
    expect(ok).toBe(true);
    expect(text).toBe(general(raw, all));
    expect(json.counts).toEqual({ added: 2, updated: 2, deleted: 2, renamed: 2 });
    expect(json.submodules).toEqual(['c-submodule', 'g-submodule-gone']);
    expect(json.shipsAFile).toBe(true);
  });

  it('strips the source folder and applies include/exclude filters on the decoded name', () => {
    const inSource = Buffer.concat([
      record(`:000000 100644 ${Z} ${A} A`, 'src/keep \u00e9.json'),
      record(`:000000 100644 ${Z} ${A} A`, 'src/skip.txt'),
      record(`:100644 100644 ${A} ${B} R090`, 'src/old.txt', 'src/renamed.json'),
      record(`:100644 100644 ${A} ${B} R090`, 'src/y-old.json', 'src/y-new.txt'),
    ]);
    const options: ClassifyOptions = { prefix: 'src/', filter: (p) => p.endsWith('.json') };
    const { ok, text, json } = compact(inSource, options, 5);
    expect(ok).toBe(true);
    expect(text).toBe(general(inSource, options));
    // A rename half filtered out is an addition, or a deletion.
    expect(json.counts).toEqual({ added: 2, updated: 0, deleted: 1, renamed: 0 });
  });

  it('only deletions and submodules: no file of the release is shipped', () => {
    const raw = Buffer.concat([
      record(`:100644 000000 ${A} ${Z} D`, 'a'),
      record(`:000000 ${SUBMODULE_MODE} ${Z} ${A} A`, 'b'),
    ]);
    const { ok, json } = compact(raw, all);
    expect(ok).toBe(true);
    expect(json.shipsAFile).toBe(false);
  });

  it('takes sha256 ids', () => {
    const long = (c: string) => c.repeat(64);
    const raw = record(`:100644 100644 ${long('1')} ${long('2')} M`, 'x');
    const { ok, text } = compact(raw, all);
    expect(ok).toBe(true);
    expect(text).toBe(general(raw, all));
  });
});

describe('CompactJson: hands over what only the general path can do', () => {
  it.each([
    [
      'out of byte order',
      [record(`:000000 100644 ${Z} ${A} A`, 'b'), record(`:000000 100644 ${Z} ${A} A`, 'a')],
    ],
    [
      'the same path twice',
      [record(`:000000 100644 ${Z} ${A} A`, 'a'), record(`:100644 000000 ${A} ${Z} D`, 'a')],
    ],
    ['a kept name that is not UTF-8', [record(`:000000 100644 ${Z} ${A} A`, Buffer.from([0x62, 0xff]))]],
    ['an unknown status', [record(`:000000 100644 ${Z} ${A} C100`, 'a', 'b')]],
    ['a score that is not three digits', [record(`:100644 100644 ${A} ${B} R9`, 'a', 'b')]],
    ['a path outside the source folder', [record(`:000000 100644 ${Z} ${A} A`, 'x')]],
    ['a record cut short', [Buffer.from(`:000000 100644 ${Z} ${A} A\0a`)]],
    ['a mode git does not write', [record(`:000000 10"644 ${Z} ${A} A`, 'a')]],
    ['a header of another length', [record(`:000000 100644 ${Z} ${A}1 A`, 'a')]],
  ])('%s', (_name, records) => {
    const prefix = _name.includes('source') ? 'src/' : '';
    expect(compact(Buffer.concat(records), { prefix, filter: notIgnoreFile }).ok).toBe(false);
  });

  it('byte order is judged on the names, not on their JSON escapes', () => {
    // "a\n" < "a!" < "a\"" in bytes (0x0a, 0x21, 0x22); escaped, "a\\n" would sort last.
    const names = ['a\n', 'a!', 'a"'];
    const rising = Buffer.concat(names.map((n) => record(`:000000 100644 ${Z} ${A} A`, n)));
    expect(compact(rising, all)).toMatchObject({ ok: true, text: general(rising, all) });
    const falling = Buffer.concat([...names].reverse().map((n) => record(`:000000 100644 ${Z} ${A} A`, n)));
    expect(compact(falling, all).ok).toBe(false);
    const swapped = Buffer.concat(['a"', 'a\n'].map((n) => record(`:000000 100644 ${Z} ${A} A`, n)));
    expect(compact(swapped, all).ok).toBe(false);
  });

  it('a name that is not UTF-8 but filtered out is no obstacle', () => {
    const raw = Buffer.concat([
      record(`:000000 100644 ${Z} ${A} A`, Buffer.from([0x61, 0xff])),
      record(`:000000 100644 ${Z} ${A} A`, 'b.json'),
    ]);
    const options: ClassifyOptions = { prefix: '', filter: (p) => p.endsWith('.json') };
    expect(compact(raw, options)).toMatchObject({ ok: true, text: general(raw, options) });
  });
});

describe('CompactJson on a real repository', () => {
  let r: TestRepo;
  let raw: Buffer;

  beforeAll(() => {
    r = createRepo();
    const long = (tag: string) => Array.from({ length: 40 }, (_, i) => `${tag} ${i}\n`).join('');
    r.write({ 'old name.txt': long('r'), 'keep.txt': '1', 'gone.txt': 'g', 'new\nline': 'n' });
    const v1 = r.commit();
    r.remove('old name.txt', 'gone.txt');
    r.write({ 'moved/new "name".txt': long('r'), 'keep.txt': '2', 'tab\there': 't', 'é\u2028': 'u' });
    const v2 = r.commit();
    raw = gitBytes(r.dir, ['diff-tree', '-r', '-z', '--raw', '--no-abbrev', '--find-renames', v1, v2]);
  });
  afterAll(() => r.cleanup());

  it("git's own output, whole and byte by byte", () => {
    for (const size of [raw.length, 1, 3]) {
      const { ok, text } = compact(raw, all, size);
      expect(ok).toBe(true);
      expect(text).toBe(general(raw, all));
    }
    expect(general(raw, all)).toContain('"status":"renamed"');
  });
});
