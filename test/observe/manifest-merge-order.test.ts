/**
 * Authoritative mode's merge of the walk with the recorded manifest and the
 * diff (observe/manifest-release.ts) gives the same view whichever walk feeds
 * it: find's own order through an index of the manifest, with most files
 * settled from their bytes (line-in-sync.ts), or the sorted walk beside the
 * manifest read forward. A real target deployed by the built CLI, then drifted
 * every way the merge tells apart; both merges run on it and must agree, field
 * by field, and a find that fails half-way falls back to the sorted walk.
 */
import { chmodSync, mkdirSync, rmSync, symlinkSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { oneTarget } from '../helpers/one-target.js';
import { makeRepo, type Tree } from '../helpers/repo.js';
import { withFind } from '../helpers/processes.js';
import { LocalTransport } from '../../src/transport/local/local-transport.js';
import type { EntryType, RawEntry, SettleRaw, Transport } from '../../src/transport/transport.js';
import { readState } from '../../src/apply/state.js';
import { layout } from '../../src/apply/layout.js';
import { diffReleases } from '../../src/diff/diff-releases.js';
import { mergeWithManifest } from '../../src/observe/manifest-release.js';
import { LossySuspects } from '../../src/observe/lossy-names.js';
import type { Observed } from '../../src/plan/types.js';

const BULK = 800;
const R1: Tree = {
  'app/a.txt': 'aaaa\n',
  'app/b.txt': 'bbbb\n',
  'app/same-size.txt': 'size\n',
  'app/run.sh': { content: '#!/bin/sh\necho 1\n', mode: 0o755 },
  'app/link': { link: 'a.txt' },
  'app/gone.txt': 'gone\n',
  'app/café.txt': 'accent\n',
  'app/back\\slash.txt': 'quoted in the manifest\n',
  'keep/x.txt': 'x\n',
  // Enough that the manifest is read in more than one window (64 KiB: manifest-chunks.ts).
  ...Object.fromEntries(Array.from({ length: BULK }, (_, i) => [`bulk/f${i}.xml`, `<f n="${i}"/>\n`])),
};
// The diff: one file changed, one added, one deleted.
const R2: Tree = { ...R1, 'app/b.txt': 'bbbb 2\n', 'app/new.txt': 'new\n' };
delete R2['keep/x.txt'];

const TYPE_ONLY: Record<EntryType, Observed> = {
  file: { type: 'file', blob: null, mode: 0 },
  dir: { type: 'dir', blob: null, mode: 0 },
  symlink: { type: 'symlink', blob: null, mode: 0 },
  other: { type: 'other', blob: null, mode: 0 },
};

const repo = makeRepo();
const { ws, targetDir: target, deploy } = oneTarget('local', undefined, repo.dir, ['waves: [1]']);
let r1 = '';
let r2 = '';

beforeAll(() => {
  r1 = repo.commit(R1);
  r2 = repo.commit(R2);
  const first = deploy(r1, '--mode', 'authoritative');
  expect(first.code, first.stderr).toBe(0);
  // Drift of every kind the merge tells apart.
  writeFileSync(join(target, 'junk.txt'), 'stray\n');
  mkdirSync(join(target, 'stray-dir/deep'), { recursive: true });
  writeFileSync(join(target, 'stray-dir/deep/f.txt'), 'stray\n');
  symlinkSync('a.txt', join(target, 'app/old-link'));
  unlinkSync(join(target, 'app/gone.txt'));
  chmodSync(join(target, 'app/run.sh'), 0o644);
  unlinkSync(join(target, 'app/link'));
  writeFileSync(join(target, 'app/link'), 'a file where a link was\n');
  // A same-size edit with its mtime put back: only the ctime says so.
  writeFileSync(join(target, 'app/same-size.txt'), 'SIZE\n');
  utimesSync(join(target, 'app/same-size.txt'), new Date(2020, 0, 1), new Date(2020, 0, 1));
});
afterAll(() => {
  rmSync(ws, { recursive: true, force: true });
  repo.cleanup();
});

/**
 * mergeWithManifest on the target, from R1's manifest to R2, in find's order or sorted;
 * `settle` false: the walks are given no settle, so every entry is decoded and visited.
 */
async function merge(unordered: boolean, named: string[] = [], settle = true) {
  const real = new LocalTransport(target);
  await real.connect();
  const calls: string[] = [];
  let settled = 0;
  const t = new Proxy(real, {
    get(o, prop) {
      const value = Reflect.get(o, prop, o) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        if (prop === 'walkUnordered' || prop === 'walkSorted') {
          calls.push(prop);
          const given = args[2] as SettleRaw | undefined;
          args[2] = settle && given ? (e: RawEntry) => given(e) && ++settled > 0 : undefined;
        }
        return (value as (...a: unknown[]) => unknown).apply(o, args);
      };
    },
  }) as Transport & Required<Pick<Transport, 'walkSorted'>>;
  try {
    const l = layout('.diffship');
    const state = (await readState(real, l))!;
    const diff = await diffReleases({ repo: repo.dir, from: r1, to: r2 });
    const suspects = new LossySuspects();
    const view = await mergeWithManifest(
      t,
      l.dir,
      { manifest: state.manifest!, diff, statePath: l.state, gitlinks: async () => new Map(), unordered },
      new Set(named),
      TYPE_ONLY,
      suspects,
    );
    return {
      calls,
      settled,
      observed: [...view.observed],
      release: [...view.release].map(([p, f]) => [p, f.blob, f.mode]),
      toHash: view.toHash,
      inSync: view.inSync,
      walked: [...(view.walked ?? new Map())].sort(([a], [b]) => (a < b ? -1 : 1)),
      suspects: suspects.paths,
    };
  } finally {
    await real.close();
  }
}

/** A merge's view, without how it was walked. */
const view = ({ calls: _c, settled: _s, ...rest }: Awaited<ReturnType<typeof merge>>) => rest;

describe('the merge with the manifest, in find’s order or sorted', () => {
  it('gives the same view, field by field', async () => {
    const sorted = await merge(false);
    const unordered = await merge(true);
    expect(sorted.calls).toEqual(['walkSorted']);
    expect(unordered.calls).toEqual(['walkUnordered']);
    expect(view(unordered)).toEqual(view(sorted));
    // Each settles most files from their bytes: bulk/ and app/a.txt (café is not ASCII, and
    // back\slash is written quoted: both compared as text).
    expect(sorted.settled).toBe(BULK + 1);
    expect(unordered.settled).toBe(BULK + 1);
    // And the view says what the drift is: the files in sync counted, the rest kept.
    expect(sorted.inSync).toBe(BULK + 3); // bulk/, app/a.txt, café, back\slash
    const kept = new Map(sorted.observed);
    for (const p of ['junk.txt', 'stray-dir', 'stray-dir/deep', 'stray-dir/deep/f.txt', 'app/old-link'])
      expect(kept.has(p), p).toBe(true);
    expect(kept.get('app/link')?.type).toBe('file');
    expect(kept.get('app/run.sh')?.mode).toBe(0o644);
    // Hashed: the files whose stat moved. The diff's changed file is trusted by its stat: it holds
    // R1's blob, kept for the plan to rewrite, not hashed.
    expect(sorted.toHash).toEqual(['app/link', 'app/run.sh', 'app/same-size.txt']);
    expect(kept.get('app/b.txt')?.blob).toMatch(/^[0-9a-f]{40}$/);
    // Missing from the target: the deleted-by-hand file and the diff's new one.
    const release = new Map(sorted.release.map(([p, ...f]) => [p, f]));
    expect(release.has('app/gone.txt')).toBe(true);
    expect(release.has('app/new.txt')).toBe(true);
    expect(release.has('keep/x.txt')).toBe(false);
  });

  it('gives the same view with every entry decoded and visited, none settled from its bytes', async () => {
    for (const named of [[], ['bulk/f7.xml', 'app/a.txt', 'bulk/f99.xml']]) {
      const bytes = await merge(false, named);
      const text = await merge(false, named, false);
      expect(text.settled).toBe(0);
      expect(bytes.settled).toBe(BULK + 1 - named.length);
      expect(view(bytes)).toEqual(view(text));
      expect(view(await merge(true, named, false))).toEqual(view(text));
    }
  });

  it('gives the same view with the diff naming files in sync', async () => {
    const named = ['bulk/f7.xml', 'app/café.txt'];
    const sorted = await merge(false, named);
    const unordered = await merge(true, named);
    expect(view(unordered)).toEqual(view(sorted));
    expect(sorted.inSync).toBe(BULK + 3 - 2);
  });

  it('falls back to the sorted walk where find fails half-way, and still agrees', async () => {
    const sorted = await merge(false);
    await withFind('#!/bin/sh\n/usr/bin/find "$@" | head -c 2000\nexit 1\n', async () => {
      const unordered = await merge(true);
      expect(unordered.calls).toEqual(['walkUnordered', 'walkSorted']);
      expect(view(unordered)).toEqual(view(sorted));
    });
  });

  it('trusts no stat when every line is racy (the state file older than the files)', async () => {
    const state = join(target, '.diffship/state.json');
    utimesSync(state, new Date(2000, 0, 1), new Date(2000, 0, 1));
    try {
      const sorted = await merge(false);
      const unordered = await merge(true);
      expect(view(unordered)).toEqual(view(sorted));
      expect(sorted.inSync).toBe(0);
      expect(sorted.toHash.length).toBeGreaterThan(BULK);
    } finally {
      utimesSync(state, new Date(), new Date());
    }
  });
});
