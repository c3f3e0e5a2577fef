/**
 * The file helper's look op (look-protocol.ts) through a real SshTransport and
 * a real OpenSSH server: the walk is compared with the manifest's stat cache on
 * the host, so only what differs comes back — changed and racy files, strays,
 * folders, manifest files the walk did not reach — and the many files that
 * match their manifest line are only counted.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sshSuite } from '../../helpers/ssh-suite.js';
import { SshTransport } from '../../../src/transport/ssh/ssh-transport.js';
import type { FileStat } from '../../../src/plan/manifest-types.js';
import type { EntryType } from '../../../src/entry-type.js';
import { formatManifest } from '../../../src/apply/manifest-text.js';
import { sortByPath } from '../../../src/byte-order.js';

const suite = sshSuite('look');

const open = (root: string, bulkOps = true): Promise<SshTransport> => suite.open(root, bulkOps);

const BLOB = 'a'.repeat(40);
const MANIFEST = '.diffship/manifests/m.tsv';
const STATE = '.diffship/state.json';

/** A target of `count` files, a manifest of them with the helper's own stats, and a state written after. */
async function recorded(root: string, count: number, odd: string[] = []) {
  const paths: string[] = [];
  for (let i = 0; i < count; i++) {
    const p = `d${i % 7}/file ${i}.txt`;
    mkdirSync(join(root, `d${i % 7}`), { recursive: true });
    writeFileSync(join(root, p), `content ${i}\n`);
    paths.push(p);
  }
  for (const p of odd) writeFileSync(join(root, p), 'odd\n');
  // Every file is old: the state written now is strictly newer than each (no racy entry yet).
  const old = new Date(Date.now() - 60_000);
  for (const p of [...paths, ...odd]) utimesSync(join(root, p), old, old);
  mkdirSync(join(root, '.diffship/manifests'), { recursive: true });
  const t = await open(root);
  const stats = (await t.statExactMany([...paths, ...odd]))!;
  const entries = sortByPath(
    [...paths, ...odd].map((path) => ({
      path,
      blob: BLOB,
      mode: '100644' as const,
      stat: stats.get(path) as FileStat,
    })),
  );
  const text = formatManifest(entries);
  writeFileSync(join(root, MANIFEST), text);
  writeFileSync(join(root, STATE), '{}');
  const sha256 = createHash('sha256').update(text).digest('hex');
  return { t, paths, sha256, size: Buffer.byteLength(text), old };
}

interface Seen {
  path: string;
  type: EntryType;
  stat: FileStat | null;
}

async function look(t: SshTransport) {
  const seen: Seen[] = [];
  const answer = await t.walkUnmatched(
    { manifest: MANIFEST, state: STATE, skip: ['.diffship'] },
    (path, type, stat) => seen.push({ path, type, stat }),
  );
  return { answer, seen, by: new Map(seen.map((s) => [s.path, s])) };
}

describe('the look op over ssh', () => {
  it('sends only what differs from the manifest: changed, stray, unreached; matched files are counted', async () => {
    const root = join(suite.base, 'mixed');
    const odd = ['"leading quote.txt', 'back\\slash']; // written quoted in the manifest
    const { t, paths, sha256, size } = await recorded(root, 300, odd);
    try {
      const first = await look(t);
      // Nothing changed: only the folders come back; every file (but the quoted ones) matched.
      expect(first.answer).toEqual({ missing: [], matched: 300, sha256, size, records: expect.any(Number) });
      expect(
        first.seen
          .filter((s) => s.type !== 'dir')
          .map((s) => s.path)
          .sort(),
      ).toEqual([...odd].sort());

      writeFileSync(join(root, paths[5]!), 'changed, and longer than before\n'); // stat differs
      rmSync(join(root, paths[6]!)); // gone
      writeFileSync(join(root, 'd1/stray'), 'not in the manifest\n');
      mkdirSync(join(root, 'junk/deeper'), { recursive: true });
      // A folder of the manifest swapped for a link: its files are not reached (never followed).
      rmSync(join(root, 'd3'), { recursive: true });
      symlinkSync(join(root, 'd4'), join(root, 'd3'));
      const next = await look(t);
      const d3 = paths.filter((p) => p.startsWith('d3/'));
      expect(next.answer!.missing.sort()).toEqual([paths[6]!, ...d3].sort());
      expect(next.by.get(paths[5]!)).toMatchObject({ type: 'file', stat: { size: 32 } });
      expect(next.by.get('d1/stray')?.type).toBe('file');
      expect(next.by.get('junk')?.type).toBe('dir');
      expect(next.by.get('junk/deeper')?.type).toBe('dir');
      expect(next.by.get('d3')?.type).toBe('symlink');
      expect(next.seen.some((s) => s.path.startsWith('.diffship'))).toBe(false);
      // Everything else still matched: 300 less the changed, gone and unreached ones.
      expect(next.answer!.matched).toBe(300 - 2 - d3.length);
      expect(next.seen.filter((s) => s.type === 'file')).toHaveLength(odd.length + 2);
    } finally {
      await t.close();
    }
  });

  it('trusts no file whose recorded mtime is not older than the state file (racy)', async () => {
    const root = join(suite.base, 'racy');
    const { t, paths, old } = await recorded(root, 20);
    try {
      // The state as old as the files: each could have changed in the tick its stat was taken.
      utimesSync(join(root, STATE), old, old);
      const { answer, seen } = await look(t);
      expect(answer!.matched).toBe(0);
      expect(seen.filter((s) => s.type === 'file')).toHaveLength(paths.length);
    } finally {
      await t.close();
    }
  });

  it('trusts nothing without a state file, and names the manifest it read', async () => {
    const root = join(suite.base, 'no-state');
    const { t, paths, sha256 } = await recorded(root, 20);
    try {
      rmSync(join(root, STATE));
      const { answer, seen } = await look(t);
      expect(answer!.matched).toBe(0);
      expect(answer!.sha256).toBe(sha256);
      expect(
        seen
          .filter((s) => s.type === 'file')
          .map((s) => s.path)
          .sort(),
      ).toEqual([...paths].sort());
    } finally {
      await t.close();
    }
  });

  it('says "not here" for a manifest that is a link, and where the helper does not run', async () => {
    const root = join(suite.base, 'linked');
    const { t } = await recorded(root, 5);
    try {
      writeFileSync(join(suite.base, 'elsewhere.tsv'), 'diffship-manifest 1\n');
      rmSync(join(root, MANIFEST));
      symlinkSync(join(suite.base, 'elsewhere.tsv'), join(root, MANIFEST));
      let visited = 0;
      expect(
        await t.walkUnmatched({ manifest: MANIFEST, state: STATE, skip: ['.diffship'] }, () => visited++),
      ).toBeNull();
      expect(visited).toBe(0);
    } finally {
      await t.close();
    }
    const sftp = await open(root, false);
    try {
      expect(
        await sftp.walkUnmatched({ manifest: MANIFEST, state: STATE, skip: ['.diffship'] }, () => undefined),
      ).toBeNull();
    } finally {
      await sftp.close();
    }
  });
});
