/**
 * The byte-level in-sync test of authoritative mode's merge beside find's
 * order (observe/line-in-sync.ts) decides exactly as the string compare it
 * stands for (authoritative-merge.ts's compareSought, equal-line case): for
 * each line and entry below, both are asked and must agree; each case that
 * must be false is false for the reason named.
 */
import { describe, expect, it } from 'vitest';
import { lineInSync } from '../../src/observe/line-in-sync.js';
import { statText } from '../../src/apply/manifest-text.js';
import { unchangedSince } from '../../src/plan/stat-cache.js';
import { holds } from '../../src/plan/context.js';
import { typeFromMode } from '../../src/transport/walk.js';
import type { EntryType, RawEntry } from '../../src/transport/transport.js';
import type { FileStat } from '../../src/plan/manifest-types.js';

const BLOB = 'ab'.repeat(20);
const WRITTEN = '1700000000500000000';
const file: FileStat = {
  size: 12,
  mtimeNs: '1700000000000000001',
  ctimeNs: '1700000000000000002',
  ino: '77',
  mode: 0o100644,
};

/** A walked entry whose exact stat is `stat` (null: none exact). */
function entry(path: string, type: EntryType, stat: FileStat | null): RawEntry {
  const buf = Buffer.from(`rec ${path}`, 'utf8');
  return {
    buf,
    pathStart: 4,
    pathEnd: buf.length,
    type,
    statIs: (field, from, to) => stat !== null && field.toString('latin1', from, to) === statText(stat),
  };
}

/** The string compare's answer for this line and entry (a file of the release, the diff not naming it). */
function byStrings(line: string, path: string, type: EntryType, stat: FileStat | null): boolean {
  const [blob, mode] = line.split('\t');
  if (stat === null || blob!.length !== 40 || !/^[0-9a-f]+$/.test(blob!)) return false;
  if (!['100644', '100755', '120000'].includes(mode!)) return false;
  const built = `${blob}\t${mode}\t${statText(stat)}\t${path}`;
  return (
    line === built &&
    unchangedSince(stat, stat, WRITTEN) &&
    holds({ type: typeFromMode(stat.mode), blob: blob!, mode: stat.mode & 0o7777 }, blob!, mode as '100644')
  );
}

function bytesSay(line: string, path: string, type: EntryType, stat: FileStat | null): boolean {
  const bytes = Buffer.from(`${line}\n`, 'utf8');
  const pathStart = Buffer.byteLength(line) - Buffer.byteLength(path);
  return lineInSync(bytes, 0, pathStart, 40, entry(path, type, stat), Buffer.from(WRITTEN));
}

const lineFor = (mode: string, stat: FileStat, path = 'a/b.xml', blob = BLOB) =>
  `${blob}\t${mode}\t${statText(stat)}\t${path}`;

describe('lineInSync', () => {
  const cases: Array<[string, string, EntryType, FileStat | null, boolean]> = [
    ['the line the last deploy wrote', lineFor('100644', file), 'file', file, true],
    [
      'an executable with its x bit',
      lineFor('100755', { ...file, mode: 0o100755 }),
      'file',
      { ...file, mode: 0o100755 },
      true,
    ],
    ['an executable that lost its x bit', lineFor('100755', file), 'file', file, false],
    [
      'a plain file that gained an x bit',
      lineFor('100644', { ...file, mode: 0o100744 }),
      'file',
      { ...file, mode: 0o100744 },
      false,
    ],
    ['a link', lineFor('120000', { ...file, mode: 0o120777 }), 'symlink', { ...file, mode: 0o120777 }, true],
    ['a file where the line says link', lineFor('120000', file), 'file', file, false],
    [
      'a link where the line says file',
      lineFor('100644', { ...file, mode: 0o120777 }),
      'symlink',
      { ...file, mode: 0o120777 },
      false,
    ],
    ['another size', lineFor('100644', { ...file, size: 13 }), 'file', file, false],
    ['another mtime ns', lineFor('100644', { ...file, mtimeNs: '1700000000000000003' }), 'file', file, false],
    ['another ctime', lineFor('100644', { ...file, ctimeNs: '1700000000000000009' }), 'file', file, false],
    ['another inode', lineFor('100644', { ...file, ino: '78' }), 'file', file, false],
    [
      'racy: mtime at the state file’s',
      lineFor('100644', { ...file, mtimeNs: WRITTEN }),
      'file',
      { ...file, mtimeNs: WRITTEN },
      false,
    ],
    [
      'racy: mtime after it',
      lineFor('100644', { ...file, mtimeNs: '1800000000000000000' }),
      'file',
      { ...file, mtimeNs: '1800000000000000000' },
      false,
    ],
    [
      'an old mtime with fewer digits',
      lineFor('100644', { ...file, mtimeNs: '999999999000000000' }),
      'file',
      { ...file, mtimeNs: '999999999000000000' },
      true,
    ],
    ['no exact stat', lineFor('100644', file), 'file', null, false],
    ['no stat recorded', `${BLOB}\t100644\t-\ta/b.xml`, 'file', file, false],
    ['an uppercase blob id', lineFor('100644', file, 'a/b.xml', BLOB.toUpperCase()), 'file', file, false],
    ['a short blob id', lineFor('100644', file, 'a/b.xml', BLOB.slice(2)), 'file', file, false],
    ['a mode no line holds', lineFor('100664', file), 'file', file, false],
    ['a folder', lineFor('100644', file), 'dir', file, false],
  ];
  for (const [name, line, type, stat, expected] of cases) {
    it(`${name}: ${expected ? 'in sync' : 'left to the visitor'}, as the string compare says`, () => {
      // A folder is never compared (the visitor keeps it by its type).
      if (type !== 'dir') expect(byStrings(line, 'a/b.xml', type, stat)).toBe(expected);
      expect(bytesSay(line, 'a/b.xml', type, stat)).toBe(expected);
    });
  }
});
