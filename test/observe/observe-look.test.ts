/**
 * The merge of the SSH look (observe-look.ts): the release listing, the file
 * helper's answer and the manifest's lines, in path order. Pure logic, so the
 * answer is made up here (the helper itself runs against a real sshd in
 * test/transport/ssh/ssh-look.test.ts and test/observe/authoritative-walk.test.ts).
 */
import { describe, expect, it } from 'vitest';
import type { EntryType } from '../../src/entry-type.js';
import type { FileStat } from '../../src/plan/manifest-types.js';
import type { Observed } from '../../src/plan/types.js';
import { mergeLook, type Look } from '../../src/observe/observe-look.js';
import { LossySuspects } from '../../src/observe/lossy-names.js';
import { LookStats } from '../../src/observe/look-stats.js';
import { formatManifest } from '../../src/apply/manifest-text.js';
import type { UnmatchedWalk } from '../../src/transport/transport.js';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const stat = (mode: number, ino: number): FileStat => ({
  size: 5,
  mtimeNs: '1000',
  ctimeNs: '1000',
  ino: String(ino),
  mode,
});
const TYPE_ONLY: Record<EntryType, Observed> = {
  file: { type: 'file', blob: null, mode: 0 },
  dir: { type: 'dir', blob: null, mode: 0 },
  symlink: { type: 'symlink', blob: null, mode: 0 },
  other: { type: 'other', blob: null, mode: 0 },
};

function statsOf(stats: Array<FileStat | null>): LookStats {
  const column = new LookStats();
  for (const s of stats) column.push(s);
  return column;
}

function look(
  text: string,
  sent: Array<[string, EntryType, FileStat | null]>,
  answer: Partial<UnmatchedWalk>,
): Look {
  const ref = { file: 'm.tsv', sha256: 'f'.repeat(64), size: Buffer.byteLength(text) };
  return {
    done: Promise.resolve({ missing: [], matched: 0, sha256: ref.sha256, size: ref.size, ...answer }),
    paths: sent.map((s) => s[0]),
    types: sent.map((s) => s[1]),
    stats: statsOf(sent.map((s) => s[2])),
    manifest: Buffer.from(text),
    ref,
    idLength: 40,
    where: 'host:/t/.diffship/manifests/m.tsv',
  };
}

const manifest = formatManifest([
  { path: 'changed.txt', blob: A, mode: '100644', stat: stat(0o100644, 1) },
  { path: 'deleted-by-diff.txt', blob: A, mode: '100644', stat: stat(0o100644, 2) },
  { path: 'gone.txt', blob: A, mode: '100644', stat: stat(0o100644, 3) },
  { path: 'lost-x.sh', blob: A, mode: '100755', stat: stat(0o100644, 4) },
  { path: 'same.txt', blob: A, mode: '100644', stat: stat(0o100644, 5) },
  { path: 'x/edited.txt', blob: A, mode: '100644', stat: stat(0o100644, 6) },
]);
const release = [
  { path: 'changed.txt', blob: B, mode: '100644' as const },
  { path: 'gone.txt', blob: A, mode: '100644' as const },
  { path: 'lost-x.sh', blob: A, mode: '100755' as const },
  { path: 'new.txt', blob: A, mode: '100644' as const },
  { path: 'same.txt', blob: A, mode: '100644' as const },
  { path: 'x/edited.txt', blob: A, mode: '100644' as const },
];

describe('mergeLook', () => {
  it('counts files in sync, keeps what the plan acts on, hashes only what the helper sent', async () => {
    const l = look(
      manifest,
      [
        ['stray.txt', 'file', stat(0o100644, 9)],
        ['x', 'dir', null],
        ['x/edited.txt', 'file', stat(0o100644, 60)],
      ],
      { missing: ['gone.txt'], matched: 4 },
    );
    const named = new Set(['changed.txt', 'deleted-by-diff.txt']);
    const view = (await mergeLook(l, release, named, TYPE_ONLY, new LossySuspects()))!;
    // same.txt: matched on the host, blob and mode the release's.
    expect(view.inSync).toBe(1);
    expect(view.observed.has('same.txt')).toBe(false);
    // Matched but not what the release wants: kept with the manifest's blob (no hash needed).
    expect(view.observed.get('changed.txt')).toEqual({ type: 'file', blob: A, mode: 0o644 });
    expect(view.observed.get('lost-x.sh')).toEqual({ type: 'file', blob: A, mode: 0o644 });
    expect(view.observed.get('deleted-by-diff.txt')).toEqual({ type: 'file', blob: A, mode: 0o644 });
    // Sent: a stray keeps its type only; a release file whose stat changed is hashed.
    expect(view.observed.get('stray.txt')).toBe(TYPE_ONLY.file);
    expect(view.observed.get('x')).toBe(TYPE_ONLY.dir);
    expect(view.observed.get('x/edited.txt')).toEqual({ type: 'file', blob: null, mode: 0o644 });
    expect(view.toHash).toEqual(['x/edited.txt']);
    // The release files the target lacks, and those kept for the plan.
    expect(view.observed.has('gone.txt')).toBe(false);
    expect([...view.release.keys()].sort()).toEqual(
      ['changed.txt', 'gone.txt', 'lost-x.sh', 'new.txt', 'x/edited.txt'].sort(),
    );
  });

  it('refuses an answer whose matched count is not what the lines say (E_TRANSPORT)', async () => {
    const l = look(manifest, [], { matched: 3 });
    await expect(mergeLook(l, release, new Set(), TYPE_ONLY, new LossySuspects())).rejects.toMatchObject({
      code: 'E_TRANSPORT',
    });
  });

  it('walks instead when the helper read another manifest than the one the state names', async () => {
    const l = look(manifest, [], { matched: 6, sha256: '0'.repeat(64) });
    expect(await mergeLook(l, release, new Set(), TYPE_ONLY, new LossySuspects())).toBeNull();
  });

  it('checks the lines it uses as hostile input: E_STATE naming the bad one', async () => {
    // "../escape" sorts first: right after the header.
    const lines = manifest.trimEnd().split('\n');
    const text = `${[lines[0], `${A}\t100644\t-\t../escape`, ...lines.slice(1)].join('\n')}\n`;
    const l = look(text, [], { missing: ['../escape'], matched: 6 });
    await expect(mergeLook(l, release, new Set(), TYPE_ONLY, new LossySuspects())).rejects.toMatchObject({
      code: 'E_STATE',
      message: expect.stringContaining('../escape'),
    });
    const twice = `${manifest}${manifest.split('\n').at(-2)}\n`;
    await expect(
      mergeLook(look(twice, [], { matched: 6 }), release, new Set(), TYPE_ONLY, new LossySuspects()),
    ).rejects.toMatchObject({ code: 'E_STATE', message: expect.stringContaining('out of order or twice') });
  });
});
