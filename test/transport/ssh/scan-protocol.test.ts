/**
 * The scan and stats answers' parsers (scan-protocol.ts), pure: what the host
 * sends back is hostile input, so a record that could name a path outside the
 * target, or carries anything but plain numbers, stops the walk.
 */
import { describe, expect, it } from 'vitest';
import { parseStatsPayload, ScanFormatError, ScanReader } from '../../../src/transport/ssh/scan-protocol.js';
import { LookReader } from '../../../src/transport/ssh/look-protocol.js';
import type { EntryType } from '../../../src/entry-type.js';
import type { FileStat } from '../../../src/plan/manifest-types.js';

function read(...parts: string[]) {
  const seen: Array<[string, EntryType, FileStat | null]> = [];
  const reader = new ScanReader((p, t, s) => seen.push([p, t, s]));
  for (const part of parts) reader.push(part);
  return { seen, count: reader.count };
}

const STAT = '33188,5,1700000000123456768,1700000000123456768,42';

describe('the scan answer', () => {
  it('joins folders and names across parts, decodes escapes, and keeps the stat of files and links', () => {
    const { seen, count } = read(
      ` dapp fa%0Ab,${STAT}`,
      ` Dapp lln,41471,1,-5,7,9 D osock Dapp/%25x fz,${STAT}`,
    );
    expect(count).toBe(5);
    expect(seen.map(([p, t]) => [p, t])).toEqual([
      ['app', 'dir'],
      ['a\nb', 'file'],
      ['app/ln', 'symlink'],
      ['sock', 'other'],
      ['app/%x/z', 'file'],
    ]);
    expect(seen[1]![2]).toEqual({
      mode: 33188,
      size: 5,
      mtimeNs: '1700000000123456768',
      ctimeNs: '1700000000123456768',
      ino: '42',
    });
    expect(seen[2]![2]!.mtimeNs).toBe('-5');
    expect(seen[0]![2]).toBeNull();
  });

  it.each([
    ['a name that climbs out', ` f..,${STAT}`],
    ['a name with a slash', ` fa%2Fb,${STAT}`],
    ['a folder that climbs out', ` D../etc f passwd,${STAT}`],
    ['an empty name', ` f,${STAT}`],
    ['a bad escape', ` f%zz,${STAT}`],
    ['a file without its stat', ' fa'],
    ['a folder with a stat', ` da,${STAT}`],
    ['a stat that is not numbers', ' fa,1,2,3e5,4,5'],
    ['an unknown record', ' xa'],
    // Numbers a manifest could not hold again (stat-digits.ts): the next read would refuse it.
    ['a 26-digit time', ` fa,33188,5,${'9'.repeat(26)},1,42`],
    ['a 17-digit size', ` fa,33188,${'9'.repeat(17)},1,1,42`],
    ['a leading zero', ' fa,33188,5,0123,1,42'],
    ['a time of -0', ' fa,33188,5,-0,1,42'],
    ['a negative inode', ' fa,33188,5,1,1,-42'],
    ['digits without end', ` fa,33188,5,1,1,${'4'.repeat(300_000)}`],
  ])('stops at %s', (_why, payload) => {
    expect(() => read(payload)).toThrow(ScanFormatError);
  });

  it('keeps the largest numbers a manifest holds, and times before 1970', () => {
    const big = `33188,${'9'.repeat(16)},-${'9'.repeat(25)},0,${'9'.repeat(25)}`;
    expect(read(` fa,${big}`).seen[0]![2]).toEqual({
      mode: 33188,
      size: Number('9'.repeat(16)),
      mtimeNs: `-${'9'.repeat(25)}`,
      ctimeNs: '0',
      ino: '9'.repeat(25),
    });
    expect(parseStatsPayload(big, 1)).toHaveLength(1);
  });
});

describe('the stats answer', () => {
  it('maps missing and unreadable paths to null, and refuses a wrong count or a bad record', () => {
    expect(parseStatsPayload(`${STAT} - !`, 3)).toEqual([
      { mode: 33188, size: 5, mtimeNs: '1700000000123456768', ctimeNs: '1700000000123456768', ino: '42' },
      null,
      null,
    ]);
    expect(parseStatsPayload('', 0)).toEqual([]);
    expect(parseStatsPayload(`${STAT}`, 2)).toBeNull();
    expect(parseStatsPayload('1,2,3', 1)).toBeNull();
    expect(parseStatsPayload(`33188,5,${'9'.repeat(26)},1,42`, 1)).toBeNull();
    expect(parseStatsPayload('33188,5,1,1,042', 1)).toBeNull();
  });
});

describe('the look answer (look-protocol.ts), its stats in manifest order', () => {
  const look = (payload: string) => {
    const seen: Array<FileStat | null> = [];
    new LookReader((_p, _t, st) => seen.push(st)).push(payload);
    return seen;
  };

  it('keeps a time before 1970 and stops at numbers a manifest could not hold', () => {
    expect(look(' fa,5,-5,7,42,33188')).toEqual([
      { size: 5, mtimeNs: '-5', ctimeNs: '7', ino: '42', mode: 33188 },
    ]);
    for (const stat of [`5,${'9'.repeat(26)},7,42,33188`, '5,05,7,42,33188', `5,1,1,1,${'3'.repeat(17)}`])
      expect(() => look(` fa,${stat}`)).toThrow(ScanFormatError);
  });
});
