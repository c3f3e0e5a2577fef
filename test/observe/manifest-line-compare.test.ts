/**
 * Authoritative mode's merge counts a file in sync with one string compare of its
 * manifest line (observe/authoritative-merge.ts, apply/manifest-lines.ts). These
 * tests pin what that shortcut must not change: a line that differs from the one
 * the merge expects (a quoted path, another recorded mode) is parsed and compared
 * field by field as before, and a bad line is E_STATE whether it is matched or
 * passed over. A real folder and the real local transport; the manifest is
 * written by hand, with the files' real lstats.
 */
import { chmodSync, mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/git.js';
import { LocalTransport } from '../../src/transport/local/local-transport.js';
import { layout } from '../../src/apply/layout.js';
import { manifestBytes, manifestFromBytes } from '../../src/apply/stored-manifest.js';
import { formatManifest } from '../../src/apply/manifest-text.js';
import { observeWhole } from '../../src/observe/observe-authoritative.js';
import type { ManifestEntry } from '../../src/plan/manifest-types.js';

const BLOB = 'a'.repeat(40);
const OTHER = 'b'.repeat(40);
const l = layout('.diffship');

describe('the manifest line compare of authoritative mode (local)', () => {
  let dir = '';
  let t: LocalTransport;
  /** The release: plain names, one that is written quoted, an executable. */
  const release: ManifestEntry[] = [
    { path: 'a.txt', blob: BLOB, mode: '100644' },
    { path: 'd/back\\slash.txt', blob: BLOB, mode: '100644' },
    { path: 'd/run.sh', blob: BLOB, mode: '100755' },
    { path: 'z.txt', blob: BLOB, mode: '100644' },
  ];

  beforeEach(async () => {
    dir = tempDir('diffship-linecmp-');
    mkdirSync(join(dir, 'd'));
    for (const f of release) writeFileSync(join(dir, f.path), 'x\n');
    chmodSync(join(dir, 'd/run.sh'), 0o755);
    // The state file is written after the stats were taken: no entry is racy.
    mkdirSync(join(dir, '.diffship'));
    writeFileSync(join(dir, '.diffship/state.json'), '{}');
    const later = new Date(Date.now() + 60_000);
    utimesSync(join(dir, '.diffship/state.json'), later, later);
    t = new LocalTransport(dir);
    await t.connect();
  });
  afterEach(async () => {
    await t.close();
  });

  /** The manifest as the last deploy would have written it, with `edit` applied to its entries. */
  async function manifest(edit: (e: ManifestEntry) => ManifestEntry = (e) => e, extra: ManifestEntry[] = []) {
    const stats = await t.statExactMany(release.map((f) => f.path));
    const files = [...release.map((f) => edit({ ...f, stat: stats.get(f.path)! })), ...extra];
    files.sort((a, b) => (a.path < b.path ? -1 : 1));
    return manifestFromBytes(Buffer.from(formatManifest(files), 'utf8'), 40, '/t/m.tsv');
  }

  const observe = async (m: Awaited<ReturnType<typeof manifest>>, named: string[] = []) =>
    observeWhole(
      { transport: t, layout: l, concurrency: 4 },
      release,
      new Set(named),
      { manifest: m, statePath: l.state },
      'sha1',
    );

  it('counts every file in sync, the quoted name and the executable too', async () => {
    const m = await manifest();
    // The backslash makes its line quoted: not the plain line the merge builds, so parsed.
    expect(manifestBytes(m).toString()).toContain('"d/back\\\\slash.txt"');
    const view = await observe(m);
    expect(view.inSync).toBe(release.length);
    expect([...view.observed.keys()]).toEqual(['d']);
  });

  it('a line recording another mode is compared field by field: in sync as before', async () => {
    // The manifest's mode field is not what the merge expects (100755 for a 100644 file);
    // the stat and the blob still vouch for it, and the file on disk has the release's mode.
    const view = await observe(await manifest((e) => (e.path === 'a.txt' ? { ...e, mode: '100755' } : e)));
    expect(view.inSync).toBe(release.length);
  });

  it('a file the diff names, or whose recorded blob differs, is kept for the plan', async () => {
    const view = await observe(await manifest((e) => (e.path === 'z.txt' ? { ...e, blob: OTHER } : e)), [
      'a.txt',
    ]);
    expect(view.inSync).toBe(release.length - 2);
    expect(view.observed.get('a.txt')).toMatchObject({ type: 'file', blob: BLOB });
    // Trusted by its stat, it holds the recorded blob: not the release's, so the plan rewrites it.
    expect(view.observed.get('z.txt')).toMatchObject({ type: 'file', blob: OTHER });
  });

  it('a bad line is E_STATE naming it, matched or passed over', async () => {
    // A matched line with a bad blob id: it differs from the expected line, so it is parsed.
    const bad = await manifest((e) => (e.path === 'd/run.sh' ? { ...e, blob: 'X'.repeat(40) } : e));
    await expect(observe(bad)).rejects.toThrow(/^\/t\/m\.tsv: manifest line 4 .*bad blob id/);
    // A line of a file the target no longer has, passed over on the way to the next path.
    const gone = { path: 'c.txt', blob: 'Y'.repeat(40), mode: '100644' as const };
    await expect(observe(await manifest(undefined, [gone]))).rejects.toThrow(
      /^\/t\/m\.tsv: manifest line 3 .*bad blob id/,
    );
    // And one after the last path the walk asks for.
    const last = { path: 'zz.txt', blob: 'Y'.repeat(40), mode: '100644' as const };
    await expect(observe(await manifest(undefined, [last]))).rejects.toThrow(/line 6 .*bad blob id/);
  });
});
