import { afterEach, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { manifestFileBytes } from '../../src/apply/manifest-stream.js';
import { pendingListing } from '../../src/apply/manifest-merge.js';
import { formatManifest } from '../../src/apply/manifest-text.js';
import { statColumn } from '../../src/apply/stat-column.js';
import type { FileStat, ManifestEntry } from '../../src/plan/manifest-types.js';
import { tempDir } from '../helpers/git.js';
import { isRoot, tinyDisk } from '../helpers/tiny-disk.js';

const B1 = 'a'.repeat(40);
const cleanups: Array<() => void> = [];
const savedTmp = process.env.TMPDIR;

afterEach(() => {
  if (savedTmp === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = savedTmp;
  while (cleanups.length > 0) cleanups.pop()!();
});

/** A stat per path: every third none, some past 64 bits or with a mode past 32 (kept as given). */
function statFor(i: number): FileStat | undefined {
  if (i % 3 === 0) return undefined;
  if (i % 1000 === 1)
    return {
      size: 2 ** 53 - 1,
      mtimeNs: '99999999999999999999999',
      ctimeNs: '7',
      ino: '3',
      mode: 2 ** 32 + 1,
    };
  return {
    size: i * 17,
    mtimeNs: String(1_700_000_000_123_456_789n + BigInt(i)),
    ctimeNs: String(1_700_000_000_987_654_321n + BigInt(i)),
    ino: String(1_000_000 + i),
    mode: i % 2 ? 33188 : 33261,
  };
}

const files: ManifestEntry[] = [];
for (let i = 0; i < 30_000; i++)
  files.push({ path: `d${String(i).padStart(6, '0')}/f`, blob: B1, mode: '100644' });
const fresh = new Map(files.map((f, i) => [f.path, statFor(i)]));
const expected = formatManifest(
  files.map((f) => ({ ...f, ...(fresh.get(f.path) ? { stat: fresh.get(f.path) } : {}) })),
);

/**
 * The manifest's bytes made with stats spilled from `spillAt` entries on; two passes, as after a
 * refused patch. `whileOpen` looks before the passes, while the bytes hold their stats.
 */
async function made(
  spillAt: number,
  whileOpen?: () => void,
): Promise<{ passes: string[]; size: number; sha: string }> {
  const bytes = await manifestFileBytes(
    pendingListing(files, () => () => true),
    async (paths) => {
      const m = new Map<string, FileStat>();
      for (const p of paths) if (fresh.get(p)) m.set(p, fresh.get(p)!);
      return m;
    },
    4096,
    spillAt,
  );
  try {
    whileOpen?.();
    // Each chunk copied as it comes: with `reuse`, the next one is made into the same buffer.
    const passes = [0, 1].map(() => {
      const copies: Buffer[] = [];
      for (const c of bytes.chunks(true)) copies.push(Buffer.from(c));
      return Buffer.concat(copies).toString();
    });
    return { passes, size: bytes.size, sha: bytes.sha256() };
  } finally {
    bytes.close();
    bytes.close(); // twice is fine
  }
}

/** The first line where `got` is not the expected manifest (null: the same text); no 1.8 MB diff. */
function firstDifference(got: string): string | null {
  if (got === expected) return null;
  const a = got.split('\n');
  const b = expected.split('\n');
  const i = a.findIndex((line, k) => line !== b[k]);
  return `line ${i}: ${JSON.stringify(a[i])}, expected ${JSON.stringify(b[i])}`;
}

/** This process's open descriptors that name a deleted file in `dir`. */
function deletedOpenIn(dir: string): number {
  let n = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const to = readlinkSync(`/proc/self/fd/${fd}`);
      if (to.startsWith(dir) && to.endsWith('(deleted)')) n++;
    } catch {
      // closed meanwhile
    }
  }
  return n;
}

describe('a manifest with many written files keeps their stats in a file between its passes', () => {
  it('makes the same bytes as the stats kept in memory, in every pass, and leaves nothing behind', async () => {
    const tmp = tempDir('diffship-statcol-');
    cleanups.push(() => rmSync(tmp, { recursive: true, force: true }));
    process.env.TMPDIR = tmp;
    let open = -1;
    let named: string[] = [];
    const spilled = await made(1, () => {
      // The stats sit in an unlinked file of this process: nothing named in the temp folder.
      open = deletedOpenIn(tmp);
      named = readdirSync(tmp);
    });
    expect(open).toBe(1);
    expect(named).toEqual([]);
    expect(deletedOpenIn(tmp)).toBe(0);
    expect(readdirSync(tmp)).toEqual([]);
    const inMemory = await made(Number.POSITIVE_INFINITY);
    expect(spilled.passes.map(firstDifference)).toEqual([null, null]);
    expect(inMemory.passes.map(firstDifference)).toEqual([null, null]);
    expect(spilled.size).toBe(Buffer.byteLength(expected));
    expect(spilled.sha).toBe(createHash('sha256').update(expected).digest('hex'));
    expect(inMemory.sha).toBe(spilled.sha);
  });

  it('keeps them in memory where the temp folder cannot take a file', async () => {
    const tmp = tempDir('diffship-statcol-');
    cleanups.push(() => rmSync(tmp, { recursive: true, force: true }));
    const notADir = join(tmp, 'file');
    writeFileSync(notADir, 'x');
    process.env.TMPDIR = notADir;
    const result = await made(1);
    expect(result.passes.map(firstDifference)).toEqual([null, null]);
    expect(result.size).toBe(Buffer.byteLength(expected));
  });

  it.runIf(isRoot)(
    'moves them to memory when the temp folder fills up half way (a real full tmpfs)',
    async () => {
      // 320 KiB: the first 256 KiB chunk of stat text fits, the second does not (ENOSPC).
      const tmp = tinyDisk(320, cleanups, 'diffship-statcol-disk-');
      process.env.TMPDIR = tmp;
      const used = () => Number(execFileSync('df', ['--output=used', '-k', tmp]).toString().split('\n')[1]);
      const column = statColumn(files.length, 1);
      try {
        let i = 0;
        // Until the first chunk went to the file...
        while (used() === 0 && i < files.length)
          for (const end = i + 500; i < end; i++) column.push(statFor(i));
        expect(used()).toBeGreaterThan(0);
        expect(deletedOpenIn(tmp)).toBe(1);
        // ...then the rest, which the disk cannot take: the column goes on in memory, its file closed.
        for (; i < files.length; i++) column.push(statFor(i));
        expect(deletedOpenIn(tmp)).toBe(0);
        expect(used()).toBe(0);
        const next = column.reader();
        const texts = files.map(() => next());
        const want = files.map((_, k) => {
          const s = statFor(k);
          return s ? `${s.size},${s.mtimeNs},${s.ctimeNs},${s.ino},${s.mode}` : '-';
        });
        expect(texts).toEqual(want);
      } finally {
        column.close();
      }
      // And a whole manifest made that way is byte for byte the one made in memory.
      const result = await made(1);
      expect(result.passes.map(firstDifference)).toEqual([null, null]);
      expect(result.sha).toBe(createHash('sha256').update(expected).digest('hex'));
      expect(readdirSync(tmp)).toEqual([]);
    },
  );

  it('spills only from SPILL_AT entries on by default', () => {
    const tmp = tempDir('diffship-statcol-');
    cleanups.push(() => rmSync(tmp, { recursive: true, force: true }));
    process.env.TMPDIR = tmp;
    const few = statColumn(1000);
    const many = statColumn(100_000);
    try {
      expect(deletedOpenIn(tmp)).toBe(1);
    } finally {
      few.close();
      many.close();
    }
    expect(deletedOpenIn(tmp)).toBe(0);
  });
});
