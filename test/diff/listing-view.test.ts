/**
 * A release listing's changes as a view of its table (diff/listing-view.ts): read as any array
 * is, the same changes as plain objects, no object kept per file; its first write makes it a
 * plain array; the planner and the apply engine's readers take it without copying it, and a
 * plan that adds writes copies it rather than change a diff that other targets share.
 */
import { runInNewContext } from 'node:vm';
import v8 from 'node:v8';
import { describe, expect, it } from 'vitest';
import { ChangeRecords } from '../../src/diff/change-records.js';
import { notIgnoreFile } from '../../src/diff/ignore.js';
import { indexReader, listedTable } from '../../src/diff/listing-view.js';
import { MAX_PATH_BYTES } from '../../src/diff/path-column.js';
import type { Change, DiffResult } from '../../src/diff/types.js';
import { planTarget } from '../../src/plan/plan.js';
import { forEachLimit } from '../../src/pool.js';

const Z = '0'.repeat(40);
const idOf = (i: number) => i.toString(16).padStart(40, '0');
const rec = (mode: string, id: string, path: string) =>
  Buffer.from(`:000000 ${mode} ${Z} ${id} A\0${path}\0`);
const pathOf = (i: number) =>
  `flows/team-${String(i >> 8).padStart(4, '0')}/f-${String(i).padStart(6, '0')}.xml`;

/** A listing of `count` files (ChangeRecords as a first deploy's diff reads it), compact or plain. */
function listing(count: number, compact: boolean, extra: Buffer[] = []): Change[] {
  const sink = new ChangeRecords({ prefix: '', filter: notIgnoreFile }, compact);
  const parts: Buffer[] = [];
  for (let i = 0; i < count; i++) parts.push(rec(i % 5 === 0 ? '100755' : '100644', idOf(i), pathOf(i)));
  sink.push(Buffer.concat([...parts, ...extra]));
  sink.end();
  return sink.sorted();
}

describe('a listing as a view of its table', () => {
  it('reads as an array of the same changes as plain objects', async () => {
    const view = listing(20_000, true);
    const plain = listing(20_000, false);
    expect(listedTable(view)).not.toBeNull();
    expect(listedTable(plain)).toBeNull();
    expect(Array.isArray(view)).toBe(true);
    expect(view.length).toBe(20_000);
    expect(JSON.stringify(view)).toBe(JSON.stringify(plain));
    expect(view[12_345]!.path).toBe(pathOf(12_345));
    expect(view.at(-1)!.path).toBe(pathOf(19_999));
    expect(view.filter((c) => c.status === 'added' && c.mode === '100755').length).toBe(4_000);
    const read = indexReader(view);
    let i = 0;
    for (const c of view) {
      const r = read(i);
      if (c.path !== pathOf(i) || r.path !== c.path || (r.status === 'added' && r.blob !== idOf(i)))
        throw new Error(`file ${i} read back as ${c.path}`);
      i++;
    }
    expect(i).toBe(20_000);
    // The pool takes items by iterating: in order, each once.
    const seen: string[] = [];
    await forEachLimit(view, 4, async (c, k) => void (seen[k] = c.path));
    expect(seen).toEqual(plain.map((c) => c.path));
  });

  it('keeps no object per file on the heap (40 bytes a file as objects in an array)', () => {
    v8.setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const count = 50_000;
    gc();
    const before = process.memoryUsage().heapUsed;
    const view = listing(count, true);
    gc();
    const perFile = (process.memoryUsage().heapUsed - before) / count;
    expect(perFile).toBeLessThan(8);
    expect(view[count - 1]!.path).toBe(pathOf(count - 1));
  });

  it('becomes a plain array of the files at its first write', () => {
    const view = listing(300, true);
    const copy = [...view];
    view.push({ status: 'added', path: 'zz', mode: '100644', blob: idOf(1) });
    expect(listedTable(view)).toBeNull();
    expect(view.length).toBe(301);
    expect(JSON.stringify(view.slice(0, 300))).toBe(JSON.stringify(copy));
    expect(view[300]!.path).toBe('zz');
    const sorted = listing(300, true);
    sorted.sort((a, b) => (a.path < b.path ? 1 : -1));
    expect(sorted[0]!.path).toBe(pathOf(299));
    expect(listedTable(sorted)).toBeNull();
  });

  it('is plain objects when one file does not fit the table (a path over the column limit)', () => {
    const long = `zz/${'n'.repeat(MAX_PATH_BYTES)}`;
    const changes = listing(100, true, [rec('100644', idOf(7), long)]);
    expect(listedTable(changes)).toBeNull();
    expect(changes.length).toBe(101);
    expect(changes[100]!.path).toBe(long);
    expect(JSON.stringify(changes.slice(0, 100))).toBe(JSON.stringify(listing(100, false)));
  });
});

describe('a first deploy planned from a listing view', () => {
  const diffOf = (changes: Change[]): DiffResult => ({
    from: null,
    to: 'c'.repeat(40),
    source: '.',
    changes,
    counts: { added: changes.length, updated: 0, deleted: 0, renamed: 0 },
  });
  const base = {
    protect: [],
    onDrift: 'fail' as const,
    stateDir: '.diffship',
    kept: [],
    observed: new Map(),
  };

  it('writes the view itself: no array of the files', () => {
    const diff = diffOf(listing(1000, true));
    const plan = planTarget({ ...base, diff, mode: 'additive' });
    expect(plan.writes).toBe(diff.changes);
    expect(listedTable(plan.writes)).not.toBeNull();
  });

  it('copies it to add a write: the diff, shared by every target, is left as it was', () => {
    const diff = diffOf(listing(1000, true));
    // A release file outside the diff that the target lacks: authoritative mode writes it too.
    const release = new Map(diff.changes.map((c) => [c.path, { mode: '100644', blob: idOf(0) }]));
    release.set('zz/missing.xml', { mode: '100644', blob: idOf(3) });
    const plan = planTarget({ ...base, diff, mode: 'authoritative', release });
    expect(plan.writes.length).toBe(1001);
    expect(plan.writes.at(-1)!.path).toBe('zz/missing.xml');
    expect(diff.changes.length).toBe(1000);
    expect(listedTable(diff.changes)).not.toBeNull();
  });
});
