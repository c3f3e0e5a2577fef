/**
 * The manifest's pure parts: hostile-input validation, the version 1 → 2 state
 * upgrade, the stat cache decision with racy timestamps, and change sets
 * computed from a manifest instead of a commit.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, renameSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseManifest, stateWrittenNs } from '../../src/apply/manifest.js';
import type { FileStat, Manifest, ManifestEntry } from '../../src/plan/manifest-types.js';
import { LocalTransport } from '../../src/transport/local/local-transport.js';
import { serializeState, upgradeState } from '../../src/apply/state.js';
import { unchangedSince } from '../../src/plan/stat-cache.js';
import { applyChanges, diffFromManifest, manifestDelta } from '../../src/plan/from-manifest.js';
import { formatManifest, parseManifestText } from '../../src/apply/manifest-text.js';
import { manifestFileBytes } from '../../src/apply/manifest-stream.js';
import { ManifestCursor } from '../../src/apply/manifest-lines.js';
import { bufferSource } from '../../src/apply/manifest-source.js';
import {
  isBaseRange,
  mergeManifest,
  pendingListing,
  sortedMembers,
  type PendingManifest,
} from '../../src/apply/manifest-merge.js';
import { byteOrder } from '../../src/byte-order.js';
import type { DiffResult } from '../../src/diff/types.js';
import { planTarget } from '../../src/plan/plan.js';
import type { Observed } from '../../src/plan/types.js';

const B1 = '1'.repeat(40);
const B2 = '2'.repeat(40);
const B3 = '3'.repeat(40);
const REL = 'a'.repeat(40);

describe('parseManifest', () => {
  const good = { version: 1, files: [{ path: 'a/b.car', blob: B1, mode: '100644' }] };

  it('accepts a well-formed manifest, with or without a stat', () => {
    const stat: FileStat = {
      size: 3,
      mtimeNs: '1700000000123456789',
      ctimeNs: '1700000000123456789',
      ino: '42',
      mode: 33188,
    };
    const m = parseManifest({ ...good, files: [{ ...good.files[0], stat }] }, 40, 'x');
    expect(m.files[0]).toEqual({ path: 'a/b.car', blob: B1, mode: '100644', stat });
  });

  it.each([
    ['not an object', [], 'is not an object'],
    ['an unknown version', { ...good, version: 9 }, 'unknown version 9'],
    ['no files list', { version: 1 }, 'has no files list'],
    [
      'an absolute path',
      { version: 1, files: [{ path: '/etc/passwd', blob: B1, mode: '100644' }] },
      'unsafe path "/etc/passwd"',
    ],
    [
      'a .. path',
      { version: 1, files: [{ path: 'a/../../x', blob: B1, mode: '100644' }] },
      'unsafe path "a/../../x"',
    ],
    ['an empty segment', { version: 1, files: [{ path: 'a//x', blob: B1, mode: '100644' }] }, 'unsafe path'],
    ['a NUL byte', { version: 1, files: [{ path: 'a\0x', blob: B1, mode: '100644' }] }, 'unsafe path'],
    [
      'a short blob id',
      { version: 1, files: [{ path: 'a', blob: 'abc', mode: '100644' }] },
      'bad blob id "abc"',
    ],
    [
      'a sha256 id in a sha1 state',
      { version: 1, files: [{ path: 'a', blob: 'b'.repeat(64), mode: '100644' }] },
      'bad blob id',
    ],
    [
      'upper-case hex',
      { version: 1, files: [{ path: 'a', blob: 'A'.repeat(40), mode: '100644' }] },
      'bad blob id',
    ],
    [
      'a submodule mode',
      { version: 1, files: [{ path: 'a', blob: B1, mode: '160000' }] },
      'bad mode "160000"',
    ],
    ['a numeric mode', { version: 1, files: [{ path: 'a', blob: B1, mode: 644 }] }, 'bad mode 644'],
    ['a duplicate path', { version: 1, files: [good.files[0], good.files[0]] }, 'lists "a/b.car" twice'],
    ['a bad stat', { version: 1, files: [{ ...good.files[0], stat: { size: -1 } }] }, 'has a bad stat'],
    [
      'a negative inode',
      {
        version: 1,
        files: [{ ...good.files[0], stat: { size: 1, mtimeNs: '-5', ctimeNs: '5', ino: '-5', mode: 33188 } }],
      },
      'has a bad stat',
    ],
  ])('refuses %s with E_STATE naming it', (_, value, message) => {
    let error: unknown;
    try {
      parseManifest(value, 40, 'host:/srv/x/.diffship/state.json');
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ code: 'E_STATE' });
    expect((error as Error).message).toContain('host:/srv/x/.diffship/state.json: manifest');
    expect((error as Error).message).toContain(message);
  });
});

describe('upgradeState', () => {
  const v1 = {
    version: 1,
    release: REL,
    previousRelease: null,
    deployId: 'd1',
    deployedAt: '2026-01-01T00:00:00.000Z',
    mode: 'additive',
    kept: [{ path: 'old', blob: B1 }],
  };

  it('reads a version 1 state as version 3 with no manifest, keeping every field', () => {
    expect(upgradeState(v1, 'x')).toEqual({ ...v1, version: 3, manifest: null, manifestFile: null });
  });

  it('validates the manifest of a version 2 state against the release id length', () => {
    const v2 = {
      ...v1,
      version: 2,
      manifest: { version: 1, files: [{ path: 'a', blob: B1, mode: '100755' }] },
    };
    const upgraded = upgradeState(v2, 'x');
    expect(upgraded.version).toBe(3);
    // Inline until the next deploy writes its file.
    expect(upgraded.manifestFile).toBeNull();
    expect(upgraded.manifest?.files).toEqual(v2.manifest.files);
    const sha256 = { ...v2, release: 'c'.repeat(64) };
    expect(() => upgradeState(sha256, 'x')).toThrow(/bad blob id/);
  });

  it('refuses a newer version, naming it', () => {
    expect(() => upgradeState({ ...v1, version: 4 }, 'x')).toThrow(
      /version 4, newer than this diffship knows/,
    );
  });
});

describe('unchangedSince (stat cache)', () => {
  const stat: FileStat = { size: 10, mtimeNs: '1000', ctimeNs: '1001', ino: '7', mode: 0o100644 };

  it('trusts an identical stat older than the state file', () => {
    expect(unchangedSince(stat, { ...stat }, '2000')).toBe(true);
  });

  it.each([
    ['size', { size: 11 }],
    ['mtime', { mtimeNs: '1002' }],
    ['ctime', { ctimeNs: '1500' }],
    ['inode', { ino: '8' }],
    ['mode', { mode: 0o100755 }],
  ])('hashes when the %s differs', (_, change) => {
    expect(unchangedSince(stat, { ...stat, ...change }, '2000')).toBe(false);
  });

  it('hashes a racy entry: mtime equal to or later than the state write time', () => {
    expect(unchangedSince(stat, { ...stat }, '1000')).toBe(false);
    expect(unchangedSince(stat, { ...stat }, '999')).toBe(false);
    expect(unchangedSince(stat, { ...stat }, '1001')).toBe(true);
    // Compared as numbers, not as text: '999' < '1000' although '9' > '1'.
    const nine = { ...stat, mtimeNs: '999' };
    expect(unchangedSince(nine, { ...nine }, '1000')).toBe(true);
    expect(unchangedSince({ ...stat, mtimeNs: '10000' }, { ...stat, mtimeNs: '10000' }, '9999')).toBe(false);
  });

  it('hashes when there is no recorded stat, no current one, or no state time', () => {
    expect(unchangedSince(undefined, stat, '2000')).toBe(false);
    expect(unchangedSince(stat, null, '2000')).toBe(false);
    expect(unchangedSince(stat, stat, null)).toBe(false);
  });
});

describe('diffFromManifest', () => {
  const manifest: Manifest = {
    version: 1,
    files: [
      { path: 'a.car', blob: B1, mode: '100644' },
      { path: 'gone.car', blob: B2, mode: '100644' },
      { path: 'run.sh', blob: B3, mode: '100755' },
      { path: 'same.car', blob: B2, mode: '100644' },
    ],
  };
  const release = new Map([
    ['a.car', { blob: B2, mode: '100644' }],
    ['new.car', { blob: B3, mode: '100644' }],
    ['run.sh', { blob: B3, mode: '100644' }],
    ['same.car', { blob: B2, mode: '100644' }],
  ]);

  it('updates a changed blob or mode, deletes a path the release lacks, adds a new one', () => {
    const d = diffFromManifest(manifest, release, REL, 'f'.repeat(40), '.');
    expect(d.from).toBe(REL);
    expect(d.changes).toEqual([
      { status: 'updated', path: 'a.car', mode: '100644', blob: B2, oldMode: '100644', oldBlob: B1 },
      { status: 'deleted', path: 'gone.car', oldMode: '100644', oldBlob: B2 },
      { status: 'added', path: 'new.car', mode: '100644', blob: B3 },
      { status: 'updated', path: 'run.sh', mode: '100644', blob: B3, oldMode: '100755', oldBlob: B3 },
    ]);
    expect(d.counts).toEqual({ added: 1, updated: 2, deleted: 1, renamed: 0 });
  });

  it('plans deletes (authoritative) or kept files (additive), and checks drift against the manifest', () => {
    const d = diffFromManifest(manifest, release, REL, 'f'.repeat(40), '.');
    const observed = new Map<string, Observed>([
      ['a.car', { type: 'file', blob: B3, mode: 0o644 }], // hand-edited: not what the manifest says
      ['gone.car', { type: 'file', blob: B2, mode: 0o644 }],
      ['run.sh', { type: 'file', blob: B3, mode: 0o755 }],
    ]);
    const base = {
      diff: d,
      protect: [],
      onDrift: 'overwrite' as const,
      stateDir: '.diffship',
      kept: [],
      observed,
    };
    const additive = planTarget({ ...base, mode: 'additive' });
    expect(additive.deletes).toEqual([]);
    expect(additive.kept).toEqual([{ path: 'gone.car', blob: B2 }]);
    expect(additive.drift.map((x) => x.path)).toEqual(['a.car']);
    const authoritative = planTarget({ ...base, mode: 'authoritative', release });
    expect(authoritative.deletes.map((x) => x.path)).toEqual(['gone.car']);
    expect(authoritative.writes.map((w) => w.path).sort()).toEqual([
      'a.car',
      'new.car',
      'run.sh',
      'same.car',
    ]);
  });
});

describe('applyChanges', () => {
  it('carries the listing forward through adds, updates, deletes and renames; submodules never enter', () => {
    const files = [
      { path: 'a', blob: B1, mode: '100644' as const },
      { path: 'b', blob: B1, mode: '100644' as const },
      { path: 'c', blob: B1, mode: '100644' as const },
    ];
    const next = applyChanges(files, {
      from: REL,
      to: REL,
      source: '.',
      counts: { added: 2, updated: 1, deleted: 1, renamed: 1 },
      changes: [
        { status: 'updated', path: 'a', mode: '100755', blob: B2, oldMode: '100644', oldBlob: B1 },
        { status: 'deleted', path: 'b', oldMode: '100644', oldBlob: B1 },
        {
          status: 'renamed',
          path: 'd',
          oldPath: 'c',
          similarity: 100,
          mode: '100644',
          blob: B1,
          oldMode: '100644',
          oldBlob: B1,
        },
        { status: 'added', path: 'e', mode: '120000', blob: B3 },
        { status: 'added', path: 'sub', mode: '160000', blob: B3 },
      ],
    });
    expect(next).toEqual([
      { path: 'a', blob: B2, mode: '100755' },
      { path: 'd', blob: B1, mode: '100644' },
      { path: 'e', blob: B3, mode: '120000' },
    ]);
  });
});

describe('the stat cache on a real local target', () => {
  it('an entry taken after a write is trusted until the file changes, even with size and mtime kept', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'diffship-stat-'));
    try {
      const t = new LocalTransport(dir);
      await t.connect();
      writeFileSync(join(dir, 'a.car'), 'one');
      const recorded = (await t.statExact('a.car'))!;
      await new Promise((r) => setTimeout(r, 20));
      writeFileSync(join(dir, 'state.json'), '{}');
      const written = await stateWrittenNs(t, 'state.json');
      expect(unchangedSince(recorded, await t.statExact('a.car'), written)).toBe(true);
      // Same size, mtime put back: the inode (a rename) or ctime still gives it away.
      const old = new Date(Number(BigInt(recorded.mtimeNs) / 1_000_000n));
      writeFileSync(join(dir, 'b.car'), 'two');
      utimesSync(join(dir, 'b.car'), old, old);
      renameSync(join(dir, 'b.car'), join(dir, 'a.car'));
      expect(unchangedSince(recorded, await t.statExact('a.car'), written)).toBe(false);
      // Racy: the state written in the same instant as the file.
      expect(unchangedSince(recorded, recorded, recorded.mtimeNs)).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('serializeState', () => {
  it('writes an inline (version 2) manifest one line per entry and reads back to the same state', () => {
    const state = {
      version: 2 as const,
      release: REL,
      previousRelease: null,
      deployId: 'd',
      deployedAt: 'now',
      mode: 'additive' as const,
      kept: [],
      manifest: {
        version: 1 as const,
        files: [
          { path: 'a "quoted"\nname', blob: B1, mode: '100644' as const },
          {
            path: 'b',
            blob: B2,
            mode: '100755' as const,
            stat: { size: 1, mtimeNs: '5', ctimeNs: '6', ino: '7', mode: 33261 },
          },
        ],
      },
    };
    const text = serializeState(state);
    const back = upgradeState(JSON.parse(text), 'x');
    expect(back).toEqual({ ...state, version: 3, manifestFile: null });
    expect(text.split('\n').filter((l) => l.includes('"blob"'))).toHaveLength(2);
    // Held in memory (version 3) without a file yet, it is written inline again, as version 2.
    expect(serializeState(back)).toBe(text);
    const v3 = { ...state, version: 3 as const, manifest: null, manifestFile: null };
    const { manifest: _none, ...rest } = v3;
    expect(JSON.parse(serializeState(v3))).toEqual(rest);
  });
});

describe('the manifest file format (manifest-text.ts)', () => {
  const stat: FileStat = {
    size: 3,
    mtimeNs: '1700000000123456789',
    ctimeNs: '1700000000123456790',
    ino: '42',
    mode: 33188,
  };
  const odd = ['a\tb', 'new\nline', '"quoted', 'back\\slash', 'caf\u00e9/\u{1F600}.txt', 'lone\ud800x', 'z'];

  it('reads the largest stat fields the format allows, and names like ".a" and "..b"', () => {
    const big = {
      size: 9007199254740991,
      mtimeNs: '9'.repeat(25),
      ctimeNs: '0',
      ino: '1'.repeat(25),
      mode: 33188,
    };
    const files = ['..b', '.a', 'x/...'].map((path) => ({
      path,
      blob: B1,
      mode: '100644' as const,
      stat: big,
    }));
    expect(parseManifestText(formatManifest(files), 40, 'm')).toEqual(files);
  });

  it('reads times before 1970 (negative, as lstat gives them), in both manifest forms', () => {
    const old = { size: 2, mtimeNs: '-315619200000000000', ctimeNs: '-1', ino: '7', mode: 33188 };
    const files = [{ path: 'a', blob: B1, mode: '100644' as const, stat: old }];
    expect(parseManifestText(formatManifest(files), 40, 'm')).toEqual(files);
    expect(parseManifest({ version: 1, files }, 40, 'm').files).toEqual(files);
  });

  it('round-trips any file name, with and without a stat', () => {
    const files = odd
      .map((path, i) => ({
        path,
        blob: String(i).repeat(40),
        mode: '100644' as const,
        ...(i % 2 ? { stat } : {}),
      }))
      .sort((a, b) => byteOrder(a.path, b.path));
    const text = formatManifest(files);
    expect(text.split('\n')).toHaveLength(files.length + 2); // header, one line each, final newline
    expect(parseManifestText(text, 40, 'm')).toEqual(files);
  });

  it.each([
    ['a foreign header', 'something else\n', 'does not start with'],
    ['a cut-short file', `diffship-manifest 1\n${B1}\t100644\t-\ta`, 'cut short'],
    ['too few fields', `diffship-manifest 1\n${B1}\t100644\ta\n`, 'line 2 is not blob, mode, stat and path'],
    ['an unsafe path', `diffship-manifest 1\n${B1}\t100644\t-\t../x\n`, 'line 2 has an unsafe path "../x"'],
    ['a short blob', `diffship-manifest 1\nabc\t100644\t-\ta\n`, 'bad blob id "abc"'],
    ['a bad mode', `diffship-manifest 1\n${B1}\t040000\t-\ta\n`, 'bad mode "040000"'],
    ['a bad stat', `diffship-manifest 1\n${B1}\t100644\t1,2,3\ta\n`, 'has a bad stat'],
    ['a stat with six fields', `diffship-manifest 1\n${B1}\t100644\t1,2,3,4,5,6\ta\n`, 'has a bad stat'],
    ['a stat with a leading zero', `diffship-manifest 1\n${B1}\t100644\t1,02,3,4,5\ta\n`, 'has a bad stat'],
    ['a negative size', `diffship-manifest 1\n${B1}\t100644\t-1,2,3,4,5\ta\n`, 'has a bad stat'],
    ['a negative inode', `diffship-manifest 1\n${B1}\t100644\t1,2,3,-4,5\ta\n`, 'has a bad stat'],
    ['a time of -0', `diffship-manifest 1\n${B1}\t100644\t1,-0,3,4,5\ta\n`, 'has a bad stat'],
    ['a time of two signs', `diffship-manifest 1\n${B1}\t100644\t1,2,--3,4,5\ta\n`, 'has a bad stat'],
    ['a lone sign', `diffship-manifest 1\n${B1}\t100644\t1,-,3,4,5\ta\n`, 'has a bad stat'],
    ['an empty stat field', `diffship-manifest 1\n${B1}\t100644\t1,,3,4,5\ta\n`, 'has a bad stat'],
    ['an empty stat', `diffship-manifest 1\n${B1}\t100644\t\ta\n`, 'has a bad stat'],
    [
      'a 17-digit size',
      `diffship-manifest 1\n${B1}\t100644\t${'9'.repeat(17)},2,3,4,5\ta\n`,
      'has a bad stat',
    ],
    [
      'a 26-digit mtime',
      `diffship-manifest 1\n${B1}\t100644\t1,${'9'.repeat(26)},3,4,5\ta\n`,
      'has a bad stat',
    ],
    ['a dash and more', `diffship-manifest 1\n${B1}\t100644\t-1\ta\n`, 'has a bad stat'],
    ['a "." segment', `diffship-manifest 1\n${B1}\t100644\t-\ta/./b\n`, 'has an unsafe path "a/./b"'],
    ['a trailing slash', `diffship-manifest 1\n${B1}\t100644\t-\ta/\n`, 'has an unsafe path "a/"'],
    ['a double slash', `diffship-manifest 1\n${B1}\t100644\t-\ta//b\n`, 'has an unsafe path "a//b"'],
    ['an absolute path', `diffship-manifest 1\n${B1}\t100644\t-\t/etc/x\n`, 'has an unsafe path "/etc/x"'],
    ['a NUL', `diffship-manifest 1\n${B1}\t100644\t-\t"a\\u0000b"\n`, 'has an unsafe path'],
    [
      'a path twice',
      `diffship-manifest 1\n${B1}\t100644\t-\ta\n${B2}\t100644\t-\ta\n`,
      'line 3 lists "a" out of order or twice',
    ],
  ])('refuses %s with E_STATE naming the line', (_what, text, message) => {
    expect(() => parseManifestText(text, 40, '/t/m.tsv')).toThrow(message);
    expect(() => parseManifestText(text, 40, '/t/m.tsv')).toThrow(/^\/t\/m\.tsv: manifest /);
    // Read line by line (authoritative mode's merge), the same lines are refused the same way.
    const each = () => new ManifestCursor(bufferSource(Buffer.from(text, 'utf8')), 40, '/t/m.tsv').finish();
    expect(each).toThrow(message);
    expect(each).toThrow(/^\/t\/m\.tsv: manifest /);
    // Also when a path is asked for: the lines passed over are checked as they go.
    const seek = () =>
      new ManifestCursor(bufferSource(Buffer.from(text, 'utf8')), 40, '/t/m.tsv').seek('zzz');
    expect(seek).toThrow(message);
    // And a batch at a time (status): every batch up to the bad line is checked the same way.
    const batches = () => {
      const cursor = new ManifestCursor(bufferSource(Buffer.from(text, 'utf8')), 40, '/t/m.tsv');
      while (cursor.take(1).length > 0);
    };
    expect(batches).toThrow(message);
  });

  it('reads a manifest of several MiB line by line, decoded a chunk at a time, as a whole parse does', () => {
    // Multi-byte names and quoted ones, so chunk ends fall inside long lines and UTF-8 sequences.
    const files: ManifestEntry[] = [];
    for (let i = 0; i < 40_000; i++) {
      const path = `ü-dir-${String(i % 97).padStart(3, '0')}/ファイル-${String(i).padStart(6, '0')}${i % 7 ? '' : '\\q'}.txt`;
      files.push({ path, blob: B1, mode: '100644', ...(i % 3 ? { stat } : {}) });
    }
    files.sort((a, b) => byteOrder(a.path, b.path));
    const data = Buffer.from(formatManifest(files), 'utf8');
    expect(data.length).toBeGreaterThan(3 * 1024 * 1024);
    // Every path asked in order finds its line (quoted ones too), which parses to its entry.
    const cursor = new ManifestCursor(bufferSource(data), 40, 'm');
    expect(files.map((f) => cursor.parse(cursor.seek(f.path) ?? 'missing'))).toEqual(files);
    // Every other path: asked between lines, none is found, and every line is still checked.
    const odd = new ManifestCursor(bufferSource(data), 40, 'm');
    expect(files.filter((_, i) => i % 2).map((f) => odd.seek(`${f.path}-`))).not.toContain(
      expect.any(String),
    );
    odd.finish();
    expect(parseManifestText(data.toString('utf8'), 40, 'm')).toEqual(files);
    // A batch at a time: every entry once, in order, no batch above its size, then none.
    const batched = new ManifestCursor(bufferSource(data), 40, 'm');
    const taken: ManifestEntry[][] = [];
    for (let b = batched.take(4096); b.length > 0; b = batched.take(4096)) taken.push(b);
    expect(taken.map((b) => b.length)).toEqual([...Array(9).fill(4096), 40_000 - 9 * 4096]);
    expect(taken.flat()).toEqual(files);
    expect(() =>
      new ManifestCursor(bufferSource(Buffer.from('diffship-manifest 1\n')), 40, 'm').finish(),
    ).not.toThrow();
  });

  it('merging a change set line by line gives applyChanges’ listing, with stats fresh, carried or dropped', async () => {
    const files: ManifestEntry[] = ['a', 'b', 'c/d', 'c/e', 'f'].map((path, i) => ({
      path,
      blob: String(i + 1).repeat(40),
      mode: '100644',
      stat: { ...stat, ino: String(i) },
    }));
    const diff = {
      from: REL,
      to: REL,
      source: '',
      counts: { added: 1, updated: 1, deleted: 1, renamed: 1 },
      changes: [
        {
          status: 'updated' as const,
          path: 'b',
          mode: '100755' as const,
          blob: B3,
          oldMode: '100644' as const,
          oldBlob: B2,
        },
        { status: 'deleted' as const, path: 'c/d', oldMode: '100644' as const, oldBlob: B3 },
        {
          status: 'renamed' as const,
          oldPath: 'c/e',
          path: 'c/g',
          mode: '100644' as const,
          blob: '4'.repeat(40),
          oldMode: '100644' as const,
          oldBlob: '4'.repeat(40),
          similarity: 100,
        },
        { status: 'added' as const, path: '0', mode: '120000' as const, blob: B1 },
      ],
    } as unknown as DiffResult;
    const delta = manifestDelta(diff);
    const fresh = new Map([['b', { ...stat, ino: '99' }]]);
    const pending = mergeManifest(
      bufferSource(Buffer.from(formatManifest(files))),
      { set: delta.set, remove: new Set(delta.remove), written: new Set(['b', 'f']) },
      40,
      'm',
    );
    const merged = parseManifestText((await finish(pending, fresh)).toString('utf8'), 40, 'm');
    const plain = (fs: readonly ManifestEntry[]) => fs.map(({ path, blob, mode }) => ({ path, blob, mode }));
    expect(plain(merged)).toEqual(plain(applyChanges(files, diff)));
    const statOf = (p: string) => merged.find((f) => f.path === p)?.stat?.ino;
    expect(statOf('b')).toBe('99'); // written: fresh
    expect(statOf('f')).toBeUndefined(); // written, but no stat taken (e.g. ssh): none
    expect(statOf('a')).toBe('0'); // untouched: carried
    expect(statOf('c/g')).toBeUndefined(); // a new path: no stat of its own yet
    expect(statOf('0')).toBeUndefined();
  });

  it('the binary-search merge agrees with applyChanges on random change sets (first, last, absent paths)', async () => {
    let seed = 7;
    const rand = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
    const paths = [...new Set(Array.from({ length: 600 }, () => `d${rand(20)}/f${rand(1000)}`))].sort(
      byteOrder,
    );
    const files: ManifestEntry[] = paths.map((path, i) => ({
      path,
      blob: B1,
      mode: '100644',
      stat: { ...stat, ino: String(i) },
    }));
    for (let round = 0; round < 30; round++) {
      const changes: DiffResult['changes'] = [];
      const used = new Set<string>();
      for (let k = 0; k < 1 + rand(12); k++) {
        const pick = [
          paths[0]!,
          paths[paths.length - 1]!,
          paths[rand(paths.length)]!,
          `a${rand(50)}`,
          `zz${rand(50)}`,
          `d${rand(20)}/f${rand(1000)}x`,
        ][rand(6)]!;
        if (used.has(pick)) continue;
        used.add(pick);
        const known = paths.includes(pick);
        if (known && rand(2)) changes.push({ status: 'deleted', path: pick, oldMode: '100644', oldBlob: B1 });
        else if (known)
          changes.push({
            status: 'updated',
            path: pick,
            mode: '100644',
            blob: B2,
            oldMode: '100644',
            oldBlob: B1,
          });
        else changes.push({ status: 'added', path: pick, mode: '100644', blob: B3 });
      }
      const diff = {
        from: REL,
        to: REL,
        source: '',
        counts: { added: 0, updated: 0, deleted: 0, renamed: 0 },
        changes,
      } as DiffResult;
      const delta = manifestDelta(diff);
      const pending = mergeManifest(
        bufferSource(Buffer.from(formatManifest(files))),
        { set: delta.set, remove: new Set(delta.remove), written: new Set() },
        40,
        'm',
      );
      const merged = parseManifestText((await finish(pending, new Map())).toString('utf8'), 40, 'm');
      const want = applyChanges(files, diff).map((f) =>
        f.blob === B1 ? f : { path: f.path, blob: f.blob, mode: f.mode },
      );
      expect(merged).toEqual(want);
    }
  });
});

describe('manifestFileBytes', () => {
  it('writes every line with its fresh stat, in chunks, holding a few thousand stats at a time', async () => {
    const files: ManifestEntry[] = [];
    for (let i = 0; i < 10_000; i++) files.push({ path: `d${i % 7}/f${i}`, blob: B1, mode: '100644' });
    files.sort((a, b) => byteOrder(a.path, b.path));
    const written = new Set(files.filter((_, i) => i % 3 !== 0).map((f) => f.path));
    const statOf = (p: string): FileStat => ({
      size: p.length,
      mtimeNs: '1700000000123456789',
      ctimeNs: '1700000000123456789',
      ino: String(p.length * 7),
      mode: 33188,
    });
    const asked: number[] = [];
    const bytes = await manifestFileBytes(
      pendingListing(files, () => (p) => written.has(p)),
      async (paths) => {
        asked.push(paths.length);
        return new Map(paths.map((p) => [p, statOf(p)]));
      },
    );
    const chunks = [...bytes.chunks()];
    expect(chunks.length).toBeGreaterThan(1);
    const text = Buffer.concat(chunks).toString('utf8');
    // The size announced before the write, and the hash taken as it goes, are those of the bytes.
    expect(bytes.size).toBe(Buffer.byteLength(text));
    expect(bytes.sha256()).toBe(createHash('sha256').update(text).digest('hex'));
    expect(text).toBe(
      formatManifest(files.map((f) => (written.has(f.path) ? { ...f, stat: statOf(f.path) } : f))),
    );
    expect(asked.reduce((a, b) => a + b, 0)).toBe(written.size);
    expect(Math.max(...asked)).toBeLessThanOrEqual(4096);
    expect(parseManifestText(text, 40, 'm').filter((f) => f.stat).length).toBe(written.size);
  });

  it('asks for several batches of stats before the first answer, and keeps their order however they settle', async () => {
    const files: ManifestEntry[] = [];
    for (let i = 0; i < 20_000; i++)
      files.push({ path: `f${String(i).padStart(5, '0')}`, blob: B1, mode: '100644' });
    const stat = (p: string, n: number): FileStat => ({
      size: n,
      mtimeNs: '1700000000123456789',
      ctimeNs: '1700000000123456789',
      ino: String(p.length),
      mode: 33188,
    });
    // Each answer comes after a while, a later batch's sooner than an earlier one's.
    let inFlight = 0;
    let most = 0;
    let calls = 0;
    const bytes = await manifestFileBytes(
      pendingListing(files, () => () => true),
      (paths) => {
        inFlight++;
        most = Math.max(most, inFlight);
        const delay = 20 - 5 * (calls++ % 4);
        return new Promise((resolve) =>
          setTimeout(() => {
            inFlight--;
            resolve(new Map(paths.map((p) => [p, stat(p, Number(p.slice(1)))])));
          }, delay),
        );
      },
    );
    expect(most).toBeGreaterThan(1);
    const text = Buffer.concat([...bytes.chunks()]).toString('utf8');
    expect(text).toBe(
      formatManifest(files.map((f) => ({ ...f, stat: stat(f.path, Number(f.path.slice(1))) }))),
    );
  });

  it('fails with the first batch that fails, never leaving a later failure unhandled', async () => {
    const files: ManifestEntry[] = [];
    for (let i = 0; i < 20_000; i++)
      files.push({ path: `f${String(i).padStart(5, '0')}`, blob: B1, mode: '100644' });
    let calls = 0;
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      await expect(
        manifestFileBytes(
          pendingListing(files, () => () => true),
          (paths) => {
            const n = calls++;
            // The first batch fails late, the second at once (while the first is still awaited).
            if (n === 0) return new Promise((_, reject) => setTimeout(() => reject(new Error('first')), 20));
            if (n === 1) return Promise.reject(new Error('second'));
            return Promise.resolve(new Map(paths.map((p) => [p, undefined as unknown as FileStat])));
          },
        ),
      ).rejects.toThrow('first');
      await new Promise((r) => setTimeout(r, 20));
      expect(calls).toBeGreaterThan(1);
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('writes each fresh stat as it was given, also numbers past 64 bits (a mode past 32)', async () => {
    const files: ManifestEntry[] = ['a', 'b', 'c', 'd', 'e'].map((path) => ({
      path,
      blob: B1,
      mode: '100644',
    }));
    const fresh = new Map<string, FileStat>([
      ['a', { size: 0, mtimeNs: '0', ctimeNs: '1', ino: '18446744073709551615', mode: 33188 }],
      ['e', { size: 1, mtimeNs: '2', ctimeNs: '3', ino: '4', mode: 2 ** 32 + 33188 }],
      ['b', { size: 2 ** 53 - 1, mtimeNs: '99999999999999999999999', ctimeNs: '7', ino: '3', mode: 41471 }],
      [
        'd',
        { size: 5, mtimeNs: '1700000000123456789', ctimeNs: '1700000000987654321', ino: '42', mode: 33261 },
      ],
    ]);
    const text = (
      await finish(
        pendingListing(files, () => () => true),
        fresh,
      )
    ).toString('utf8');
    expect(text).toBe(
      formatManifest(files.map((f) => ({ ...f, ...(fresh.has(f.path) ? { stat: fresh.get(f.path) } : {}) }))),
    );
  });

  it('a written entry gets only its fresh stat, never one it carries', async () => {
    const stale: FileStat = { size: 1, mtimeNs: '1', ctimeNs: '1', ino: '1', mode: 33188 };
    const files: ManifestEntry[] = [
      { path: 'a', blob: B1, mode: '100644', stat: stale },
      { path: 'b', blob: B1, mode: '100644', stat: stale },
    ];
    const text = (
      await finish(
        pendingListing(files, () => (p) => p === 'a'),
        new Map(),
      )
    ).toString('utf8');
    expect(parseManifestText(text, 40, 'm').map((f) => f.stat?.ino)).toEqual([undefined, '1']);
  });
});

describe('manifestFileBytes: the size counted before the lines are made', () => {
  const stat: FileStat = {
    size: 12345,
    mtimeNs: '1700000000000000001',
    ctimeNs: '9',
    ino: '77',
    mode: 33261,
  };
  // Quoted (control characters, a backslash, a leading quote, a lone surrogate), multi-byte, a tab.
  const odd = ['"q', 'a\tb', 'back\\slash', 'ctl\u0001', 'lone\ud800', 'nl\nx', 'é/ü/日本', '😀', 'plain'];

  it('is the size of the bytes made, for any name, with and without a stat', async () => {
    const files: ManifestEntry[] = odd
      .map((path, i) => ({ path, blob: B1, mode: (i % 2 ? '100755' : '100644') as ManifestEntry['mode'] }))
      .sort((a, b) => byteOrder(a.path, b.path));
    const fresh = new Map(files.filter((_, i) => i % 3 !== 0).map((f) => [f.path, stat]));
    const bytes = await manifestFileBytes(
      pendingListing(files, () => (p) => p !== 'plain'),
      async () => fresh,
    );
    const data = Buffer.concat([...bytes.chunks()]);
    expect(bytes.size).toBe(data.length);
    expect(bytes.sha256()).toBe(createHash('sha256').update(data).digest('hex'));
    expect(parseManifestText(data.toString('utf8'), 40, 'm').map((f) => f.path)).toEqual(
      files.map((f) => f.path),
    );
  });

  it("counts the previous file's byte ranges as they are (a merged manifest)", async () => {
    const previous = Buffer.from(
      formatManifest(
        odd
          .map((path): ManifestEntry => ({ path, blob: B1, mode: '100644', stat }))
          .sort((a, b) => byteOrder(a.path, b.path)),
      ),
    );
    const pending = mergeManifest(
      bufferSource(previous),
      {
        set: [{ path: 'é/ü/日本', blob: B2, mode: '100644' }],
        remove: new Set(['"q']),
        written: new Set(['é/ü/日本']),
      },
      40,
      'm',
    );
    expect([...pending.parts].some((part) => isBaseRange(part))).toBe(true);
    const bytes = await manifestFileBytes(pending, async (paths) => new Map(paths.map((p) => [p, stat])));
    const data = Buffer.concat([...bytes.chunks()]);
    expect(bytes.size).toBe(data.length);
    expect(bytes.sha256()).toBe(createHash('sha256').update(data).digest('hex'));
  });

  it('gives no hash for bytes not all made', async () => {
    const files: ManifestEntry[] = [{ path: 'a', blob: B1, mode: '100644' }];
    const bytes = await manifestFileBytes(
      pendingListing(files, () => () => false),
      async () => new Map(),
    );
    expect(() => bytes.sha256()).toThrow(/made 0 bytes where 72 were counted/);
  });
});

describe('sortedMembers', () => {
  it('answers ascending questions about unsorted paths', () => {
    const isIn = sortedMembers(['c', 'a/b', 'b', 'a']);
    expect(['a', 'a/a', 'a/b', 'aa', 'b', 'c', 'd'].map(isIn)).toEqual([
      true,
      false,
      true,
      false,
      true,
      true,
      false,
    ]);
  });
});

/** The whole manifest file of `pending`, with the stats in `fresh`. */
async function finish(pending: PendingManifest, fresh: ReadonlyMap<string, FileStat>): Promise<Buffer> {
  const bytes = await manifestFileBytes(pending, async () => fresh);
  const data = Buffer.concat([...bytes.chunks()]);
  expect(bytes.size).toBe(data.length);
  return data;
}
