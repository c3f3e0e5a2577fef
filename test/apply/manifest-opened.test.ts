/**
 * A big recorded manifest is read by offset from the file it was checked in
 * (issue 13: never whole in memory), on a real local target: its size and
 * SHA-256 are checked before any line is used, and a file written to after
 * that check (edited in place, grown, or swapped by a rename over its path)
 * is refused when it is used. Read whole once for an index, the checked bytes
 * are what every later use reads.
 */
import {
  appendFileSync,
  mkdirSync,
  openSync,
  renameSync,
  rmSync,
  writeFileSync,
  writeSync,
  closeSync,
} from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalTransport } from '../../src/transport/local/local-transport.js';
import { layout } from '../../src/apply/layout.js';
import { readManifestFile, type ManifestRef } from '../../src/apply/manifest-store.js';
import { formatManifest } from '../../src/apply/manifest-text.js';
import { mergeManifest } from '../../src/apply/manifest-merge.js';
import { manifestFileBytes } from '../../src/apply/manifest-stream.js';
import { bufferSource } from '../../src/apply/manifest-source.js';
import { manifestCursor, manifestIndex, manifestSource } from '../../src/apply/stored-manifest.js';
import type { ManifestEntry } from '../../src/plan/manifest-types.js';
import type { Manifest } from '../../src/plan/manifest-types.js';
import { byteOrder } from '../../src/byte-order.js';
import { tempDir } from '../helpers/git.js';

/** ~1.7 MB of manifest: over the size read whole. */
const FILES = 12_000;
const stat = {
  size: 12,
  mtimeNs: '1700000000123456789',
  ctimeNs: '1700000000123456789',
  ino: '4242',
  mode: 0o100644,
};
const blob = (i: number) => createHash('sha1').update(String(i)).digest('hex');
const entries: ManifestEntry[] = Array.from({ length: FILES }, (_, i) => ({
  path: `flows/team-${Math.floor(i / 200)}/flow-${i}.xml`,
  blob: blob(i),
  mode: '100644' as const,
  stat,
})).sort((a, b) => byteOrder(a.path, b.path));
const text = Buffer.from(formatManifest(entries), 'utf8');
const ref: ManifestRef = {
  file: 'd1.tsv',
  size: text.length,
  sha256: createHash('sha256').update(text).digest('hex'),
};

let target: string;
let file: string;
const l = layout('.diffship');
beforeAll(() => {
  target = tempDir('diffship-manifest-opened-');
});
afterAll(() => rmSync(target, { recursive: true, force: true }));

/** The manifest written, then read once its times are past the racy window (opened-file.ts). */
async function recorded(): Promise<Manifest> {
  mkdirSync(join(target, l.manifests), { recursive: true });
  file = join(target, l.manifests, ref.file);
  writeFileSync(file, text);
  await new Promise((r) => setTimeout(r, 300));
  const t = new LocalTransport(target);
  await t.connect();
  return readManifestFile(t, l, ref, 40);
}

const lines = (m: Manifest) => {
  const seen: string[] = [];
  manifestCursor(m).finish((e) => seen.push(e.path));
  return seen;
};

const changes = {
  set: [{ path: 'flows/team-3/flow-700.xml', blob: blob(-1), mode: '100644' as const }],
  remove: new Set(['flows/team-59/flow-11999.xml', 'flows/team-0/flow-0.xml']),
  written: new Set(['flows/team-3/flow-700.xml']),
};
/** The next manifest's bytes, merged from `src` with `changes`. */
const made = async (src: ReturnType<typeof bufferSource>) => {
  const bytes = await manifestFileBytes(mergeManifest(src, changes, 40, 'm'), async () => new Map());
  return Buffer.concat([...bytes.chunks()]);
};

describe('a big manifest read by offset', () => {
  it('gives every line of the checked file, and merges as its bytes do', async () => {
    const m = await recorded();
    expect(text.length).toBeGreaterThan(1 << 20);
    expect(lines(m)).toEqual(entries.map((e) => e.path));
    const fromFile = await made(manifestSource(m));
    expect(manifestSource(m).buffer).toBeUndefined(); // read by offset, not held
    expect(fromFile.equals(await made(bufferSource(text)))).toBe(true);
    expect(fromFile.includes('\tflows/team-0/flow-0.xml\n')).toBe(false);
    expect(fromFile.includes(`${blob(-1)}\t100644\t-\tflows/team-3/flow-700.xml\n`)).toBe(true);
  });

  it('keeps the checked bytes once read whole for an index: a later merge reads them, not the file', async () => {
    const m = await recorded();
    expect(manifestSource(m).buffer).toBeUndefined();
    manifestIndex(m);
    expect(manifestSource(m).buffer?.equals(text)).toBe(true);
    // Edited on disk since: what the merge uses is what was checked.
    const fd = openSync(file, 'r+');
    writeSync(fd, Buffer.from('f'), 0, 1, text.length - 200);
    closeSync(fd);
    expect((await made(manifestSource(m))).equals(await made(bufferSource(text)))).toBe(true);
  });

  it('refuses a file edited in place after its check, with the same size', async () => {
    const m = await recorded();
    const fd = openSync(file, 'r+');
    writeSync(fd, Buffer.from('f'), 0, 1, text.length - 200);
    closeSync(fd);
    expect(() => lines(m)).toThrow(/the manifest changed after it was checked against the state/);
  });

  it('refuses a file grown after its check', async () => {
    const m = await recorded();
    appendFileSync(file, `${blob(-2)}\t100644\t-\tzzz\n`);
    expect(() => lines(m)).toThrow(/the manifest changed after it was checked/);
  });

  it('refuses a file swapped for another after its check (renamed over its path)', async () => {
    const m = await recorded();
    const other = join(target, 'other.tsv');
    writeFileSync(other, formatManifest(entries.slice(0, 10)));
    renameSync(other, file);
    // The descriptor still reads the checked file, but it was unlinked (its ctime moved): refused all the same.
    expect(() => lines(m)).toThrow(/the manifest changed after it was checked/);
  });

  it('refuses a file that is not the one the state names before using it', async () => {
    mkdirSync(join(target, l.manifests), { recursive: true });
    file = join(target, l.manifests, ref.file);
    const edited = Buffer.from(text);
    edited[text.length - 200] = 0x66;
    writeFileSync(file, edited);
    await new Promise((r) => setTimeout(r, 300));
    const t = new LocalTransport(target);
    await t.connect();
    await expect(readManifestFile(t, l, ref, 40)).rejects.toThrow(
      /the manifest is not the one the state names/,
    );
  });
});
