/**
 * A manifest's lines by path (apply/manifest-index.ts), as authoritative mode's
 * merge beside a walk in find's order asks for them: by a path's bytes or its
 * text, in any order; the lines nobody asked for parsed by `finish`; and every
 * way a hostile file can be wrong refused as E_STATE naming its line.
 */
import { describe, expect, it } from 'vitest';
import { ManifestIndex } from '../../src/apply/manifest-index.js';
import { formatManifest, MANIFEST_HEADER } from '../../src/apply/manifest-text.js';
import type { ManifestEntry } from '../../src/plan/manifest-types.js';
import { idOf, SAMPLE_STAT, sampleEntries } from '../helpers/manifest.js';

const id = idOf;
const stat = SAMPLE_STAT;
const files: ManifestEntry[] = sampleEntries([
  { path: 'back\\slash', blob: id(9003), mode: '100644' as const, stat },
  { path: 'z/\u{1F600}.txt', blob: id(9004), mode: '100644' as const, stat },
]);
const bytes = (text: string) => Buffer.from(text, 'utf8');
const index = (text = formatManifest(files)) => new ManifestIndex(bytes(text), 40, '/t/m.tsv');
const lines = (text: string) => text.split('\n');

describe('ManifestIndex', () => {
  it('finds every line by its path’s text, in any order, and by its bytes unless written quoted', () => {
    const m = index();
    for (const f of [...files].reverse()) {
      const line = m.seek(f.path);
      expect(line, f.path).toBeDefined();
      expect(m.parse(line!)).toEqual(f);
    }
    expect(m.seek('d3/nope.xml')).toBeUndefined();
    expect(m.seek('a')).toBeUndefined();
    const b = Buffer.from('xx/d3/f10.xml!', 'utf8');
    const n = m.at(b, 3, b.length - 1);
    expect(n).toBeGreaterThanOrEqual(0);
    expect(m.pathStart(n) - m.lineStart(n)).toBe(
      40 + 1 + 6 + 1 + statLength(files.find((f) => f.path === 'd3/f10.xml')!) + 1,
    );
    // Written as JSON strings (a control character, a character past U+FFFF): their bytes in
    // the file are not the path's, so only their text finds them.
    for (const path of ['odd\nname', 'z/\u{1F600}.txt']) {
      const b = Buffer.from(path, 'utf8');
      expect(m.at(b, 0, b.length), path).toBe(-1);
      expect(m.lineOf(path), path).toBeGreaterThanOrEqual(0);
    }
  });

  it('finish parses the lines nobody took, in path order', () => {
    const m = index();
    m.seek('d3/f10.xml');
    const b = Buffer.from('z/run.sh');
    m.take(m.at(b, 0, b.length));
    const passed: string[] = [];
    m.finish((e) => passed.push(e.path));
    expect(passed).toEqual(files.map((f) => f.path).filter((p) => p !== 'd3/f10.xml' && p !== 'z/run.sh'));
  });

  it('refuses a path out of order or listed twice, naming its line, when it is built', () => {
    const text = formatManifest(files);
    const l = lines(text);
    const swapped = [l[0], l[2], l[1], ...l.slice(3)].join('\n');
    expect(() => index(swapped)).toThrow(/^\/t\/m\.tsv: manifest line 3 lists .* out of order or twice/);
    const twice = [...l.slice(0, 3), l[2], ...l.slice(3)].join('\n');
    expect(() => index(twice)).toThrow(/manifest line 4 lists .* out of order or twice/);
    // A quoted path is compared by its bytes too: the same path twice, once quoted.
    const plain = `${id(1)}\t100644\t-\tq\n`;
    const quoted = `${id(1)}\t100644\t-\t"q"\n`;
    expect(() => index(`${MANIFEST_HEADER}\n${plain}${quoted}`)).toThrow(
      /line 3 lists "q" out of order or twice/,
    );
    try {
      index(swapped);
    } catch (error) {
      expect((error as { code?: string }).code).toBe('E_STATE');
    }
  });

  it('refuses a file that is not a manifest, or cut short', () => {
    expect(() => index('not a manifest\n')).toThrow(/does not start with/);
    expect(() => index(formatManifest(files).slice(0, -1))).toThrow(/cut short/);
    expect(index(`${MANIFEST_HEADER}\n`).seek('a')).toBeUndefined();
  });

  it('a bad line is E_STATE naming it: without tabs when built, a bad field when parsed', () => {
    const l = lines(formatManifest(files));
    expect(() => index([...l.slice(0, 5), 'no tabs here', ...l.slice(5)].join('\n'))).toThrow(
      /manifest line 6 is not blob, mode, stat and path/,
    );
    // A bad blob id is found when its line is used: sought and parsed, or passed by finish.
    const badBlob = l.map((line, i) => (i === 7 ? `${'X'.repeat(40)}${line.slice(40)}` : line)).join('\n');
    const sought = index(badBlob);
    const path = files[6]!.path;
    expect(() => sought.parse(sought.seek(path)!)).toThrow(/manifest line 8 .*bad blob id/);
    expect(() => index(badBlob).finish()).toThrow(/manifest line 8 .*bad blob id/);
  });
});

function statLength(f: ManifestEntry): number {
  const s = f.stat!;
  return `${s.size},${s.mtimeNs},${s.ctimeNs},${s.ino},${s.mode}`.length;
}
