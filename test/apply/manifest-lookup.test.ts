/**
 * A few paths' entries found in a manifest file by binary search on its bytes
 * (apply/manifest-lookup.ts), the way an update's stat cache and the next
 * manifest's merge find them: only the lines sought are parsed, and a bad line
 * met on the way is refused as hostile input.
 */
import { describe, expect, it } from 'vitest';
import { entriesAt } from '../../src/apply/manifest-lookup.js';
import { formatManifest, MANIFEST_HEADER } from '../../src/apply/manifest-text.js';
import { bufferSource } from '../../src/apply/manifest-source.js';
import type { ManifestEntry } from '../../src/plan/manifest-types.js';
import { idOf, sampleEntries } from '../helpers/manifest.js';

const id = idOf;
const files: ManifestEntry[] = sampleEntries();
const text = formatManifest(files);
const source = bufferSource(Buffer.from(text, 'utf8'));

describe('entriesAt', () => {
  it('finds each listed path (first, last, quoted, without a stat) and nothing for the others', () => {
    const wanted = [
      files[0]!.path,
      'z/run.sh',
      'odd\nname',
      'd3/f10.xml',
      'd3/nope.xml',
      'a',
      'zz',
      'd3/f10.xml',
    ];
    const found = entriesAt(source, wanted, 40, 'm');
    expect([...found.keys()].sort()).toEqual([files[0]!.path, 'd3/f10.xml', 'odd\nname', 'z/run.sh'].sort());
    for (const [path, e] of found) expect(e).toEqual(files.find((f) => f.path === path));
  });

  it('agrees with a plain search for every path of a big manifest', () => {
    const found = entriesAt(source, files.map((f) => f.path).reverse(), 40, 'm');
    expect(found.size).toBe(files.length);
    expect(found.get('d3/f2999.xml')?.stat?.ino).toBe('2999');
  });

  it('refuses a file that is not a manifest, or is cut short, naming it', () => {
    const notOurs = bufferSource(Buffer.from(`something else\n${text.slice(MANIFEST_HEADER.length + 1)}`));
    expect(() => entriesAt(notOurs, ['z/run.sh'], 40, 'host:/t/m')).toThrow(
      /host:\/t\/m: manifest does not start/,
    );
    const cut = bufferSource(Buffer.from(text.slice(0, -1)));
    expect(() => entriesAt(cut, ['z/run.sh'], 40, 'm')).toThrow(/cut short/);
  });

  it('refuses a bad line it meets (an unsafe path on the way, or the line sought)', () => {
    const unsafe = text.replace('d3/f10.xml', '../f10.xml');
    expect(() => entriesAt(bufferSource(Buffer.from(unsafe)), ['d3/f100.xml'], 40, 'm')).toThrow(
      /m: manifest has a line that has an unsafe path/,
    );
    const short = text.replace(`${id(10)}\t`, `${id(10).slice(2)}\t`);
    expect(() => entriesAt(bufferSource(Buffer.from(short)), ['d3/f10.xml'], 40, 'm')).toThrow(
      /m: manifest entry "d3\/f10.xml" has a bad blob id/,
    );
  });
});
