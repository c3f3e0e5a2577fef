/**
 * ManifestCursor.settle: the line the cursor is on taken on bytes, beside a
 * sorted walk, when it is the walked entry's (ASCII, unquoted, byte for byte)
 * and the caller's check says it is in sync. Refused, nothing moves and the
 * caller seeks by text as before; taken, the lines after it are still checked
 * for order against it, across the cursor's 64 KiB windows too. The entry is a
 * plain object here: settle reads only its path bytes (pure logic).
 */
import { describe, expect, it } from 'vitest';
import { ManifestCursor } from '../../src/apply/manifest-lines.js';
import { bufferSource } from '../../src/apply/manifest-source.js';
import { formatManifest, MANIFEST_HEADER } from '../../src/apply/manifest-text.js';
import type { ManifestEntry } from '../../src/plan/manifest-types.js';
import type { RawEntry } from '../../src/transport/transport.js';
import { idOf, sampleEntries, SAMPLE_STAT } from '../helpers/manifest.js';

/** A walked file named `path`, as a walk's raw record would give it. */
const entry = (path: string): RawEntry => {
  const buf = Buffer.from(`f 1 2 3 4 644 ${path}`);
  return {
    buf,
    pathStart: buf.length - Buffer.byteLength(path),
    pathEnd: buf.length,
    type: 'file',
    statIs: () => true,
  };
};
const cursorOf = (text: string | Buffer) =>
  new ManifestCursor(bufferSource(Buffer.isBuffer(text) ? text : Buffer.from(text)), 40, '/t/m.tsv');
const line = (path: string, n = 1) => `${idOf(n)}\t100644\t5,1,2,3,33188\t${path}`;
const always = () => true;

describe('ManifestCursor.settle', () => {
  const files: ManifestEntry[] = sampleEntries([
    { path: 'café/x.txt', blob: idOf(9003), mode: '100644', stat: SAMPLE_STAT },
    { path: '"quoted".txt', blob: idOf(9004), mode: '100644', stat: SAMPLE_STAT },
  ]);
  const data = Buffer.from(formatManifest(files), 'utf8');

  it('takes each ASCII, unquoted line in order, across windows; the rest are sought by text', () => {
    expect(data.length).toBeGreaterThan(3 * 65536);
    const cursor = cursorOf(data);
    // Each line the check saw: its id, mode and stat fields up to its path, with the path settled.
    const seen: string[] = [];
    const bySettle: string[] = [];
    for (const f of files) {
      let prefix = '';
      const taken = cursor.settle(entry(f.path), (bytes, start, pathStart) => {
        prefix = bytes.toString('utf8', start, pathStart);
        return true;
      });
      if (taken) {
        bySettle.push(f.path);
        seen.push(prefix + f.path);
      } else expect(cursor.parse(cursor.seek(f.path) ?? 'missing'), f.path).toEqual(f);
    }
    expect(bySettle).toEqual(
      files.map((f) => f.path).filter((p) => /^[\x20-\x21\x23-\x7e][\x20-\x7e]*$/.test(p)),
    );
    expect(bySettle.length).toBe(files.length - 3); // odd\nname, café, "quoted"
    expect(seen).toEqual(
      formatManifest(files.filter((f) => bySettle.includes(f.path)))
        .split('\n')
        .slice(1, -1),
    );
    const passed: string[] = [];
    cursor.finish((e) => passed.push(e.path));
    expect(passed).toEqual([]);
  });

  it('refuses, moving nothing, a line the check refuses, another path, or a prefix of it', () => {
    const cursor = cursorOf(`${MANIFEST_HEADER}\n${line('a/bc')}\n${line('a/bd')}\n`);
    expect(cursor.settle(entry('a/bc'), () => false)).toBe(false);
    expect(cursor.settle(entry('a/b'), always)).toBe(false);
    expect(cursor.settle(entry('a/bcd'), always)).toBe(false);
    expect(cursor.settle(entry('a/bd'), always)).toBe(false);
    expect(cursor.seek('a/bc')).toBe(line('a/bc'));
    expect(cursor.settle(entry('a/bd'), always)).toBe(true);
    const passed: string[] = [];
    cursor.finish((e) => passed.push(e.path));
    expect(passed).toEqual([]);
  });

  it('never takes a line whose path field is quoted, even where its bytes are the entry’s name', () => {
    // The field `"ab"` is the path ab written quoted; a file literally named "ab" is another path.
    const cursor = cursorOf(`${MANIFEST_HEADER}\n${line('"ab"')}\n`);
    expect(cursor.settle(entry('"ab"'), always)).toBe(false);
    expect(cursor.seek('"ab"')).toBeUndefined();
    const passed: string[] = [];
    cursor.finish((e) => passed.push(e.path));
    expect(passed).toEqual(['ab']);
  });

  it('checks the lines after a taken one against it: out of order, or twice, named by line', () => {
    const c1 = cursorOf(`${MANIFEST_HEADER}\n${line('a')}\n${line('c')}\n${line('b')}\n`);
    expect(c1.settle(entry('a'), always)).toBe(true);
    expect(c1.settle(entry('c'), always)).toBe(true);
    expect(() => c1.finish()).toThrow(/line 4 lists "b" out of order or twice/);
    const c2 = cursorOf(`${MANIFEST_HEADER}\n${line('a')}\n${line('c')}\n${line('c', 2)}\n`);
    expect(c2.settle(entry('a'), always)).toBe(true);
    expect(c2.settle(entry('c'), always)).toBe(true);
    expect(() => c2.seek('d')).toThrow(/line 4 lists "c" out of order or twice/);
  });

  it('checks that order across a window’s end: a taken line repeated first in the next window', () => {
    // Lines until the first window (64 KiB after the header) is cut; the line it ends with repeated.
    const header = `${MANIFEST_HEADER}\n`;
    const lines: string[] = [];
    let size = 0;
    for (let i = 0; size < 65536 + 2000; i++) {
      lines.push(line(`dir/file-${String(i).padStart(6, '0')}.xml`, i));
      size += lines.at(-1)!.length + 1;
    }
    const text = lines.join('\n');
    const cut = text.lastIndexOf('\n', 65536);
    const last = text.slice(0, cut).split('\n').length - 1; // the window's last line
    const settleTo = (text: string[]) => {
      const cursor = cursorOf(`${header}${text.join('\n')}\n`);
      for (const l of lines.slice(0, last + 1))
        expect(cursor.settle(entry(l.split('\t')[3]!), always)).toBe(true);
      return cursor;
    };
    // In order: the next window's lines pass the check against the taken one.
    const passed: string[] = [];
    settleTo(lines).finish((e) => passed.push(e.path));
    expect(passed).toEqual(lines.slice(last + 1).map((l) => l.split('\t')[3]));
    // Twice, or one below it: refused, named by line.
    const doubled = [...lines.slice(0, last + 1), lines[last]!, ...lines.slice(last + 1)];
    expect(() => settleTo(doubled).finish()).toThrow(
      new RegExp(`line ${last + 3} lists "dir/file-\\d+\\.xml" out of order or twice`),
    );
    const below = [...lines.slice(0, last + 1), line('dir/file-000000.xml-'), ...lines.slice(last + 1)];
    expect(() => settleTo(below).finish()).toThrow(
      new RegExp(`line ${last + 3} lists "dir/file-000000.xml-"`),
    );
  });
});
