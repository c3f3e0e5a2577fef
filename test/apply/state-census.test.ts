/**
 * censusOf (state-census.ts), pure: what the looks at the state folder saw, as recovery leaves
 * it; null whenever they did not answer all that pruning needs, so the clean-up lists instead.
 */
import { describe, expect, it } from 'vitest';
import { censusOf } from '../../src/apply/state-census.js';
import { layout } from '../../src/apply/layout.js';
import type { Entry, Peeked } from '../../src/transport/transport.js';

const l = layout('.diffship');
const entry = (type: Entry['type']): Entry => ({
  type,
  mode: type === 'dir' ? 0o755 : 0o644,
  size: 0,
  mtimeMs: 0,
});
const dir = (names: string[]): Peeked => ({ entry: entry('dir'), names });
const A = '20261201T000000000Z-aaaaaa';
const B = '20261202T000000000Z-bbbbbb';
const C = '20261203T000000000Z-cccccc';

/** Backups A (complete), B (no listing), C (a link), a name not a backup's; two manifests and an echo. */
function seen(): Map<string, Peeked> {
  return new Map<string, Peeked>([
    [l.backups, dir([A, B, C, 'not a backup'])],
    [l.manifests, dir([`${A}.tsv`, `${A}.walk`, `${B}.tsv`, 'README'])],
    [l.backupFor(A), { entry: entry('dir') }],
    [l.backupListing(A), { entry: entry('file') }],
    [l.backupFor(B), { entry: entry('dir') }],
    [l.backupListing(B), { entry: null }],
    [l.backupFor(C), { entry: entry('symlink') }],
    [l.backupListing(C), { entry: entry('file') }],
  ]);
}

describe('censusOf', () => {
  it('keeps the complete backups that are real folders, and the recorded manifest with its echo', () => {
    expect(censusOf(seen(), l, `${A}.tsv`)).toEqual({ backups: [A], manifests: [`${A}.tsv`, `${A}.walk`] });
    expect(censusOf(seen(), l, null)).toEqual({ backups: [A], manifests: [] });
  });

  it('is null when a listing or a backup was not answered', () => {
    for (const gone of [l.backups, l.manifests, l.backupFor(B), l.backupListing(A)]) {
      const s = seen();
      s.delete(gone);
      expect(censusOf(s, l, null), gone).toBeNull();
    }
    const unlisted = seen();
    unlisted.set(l.backups, { entry: entry('dir') });
    expect(censusOf(unlisted, l, null)).toBeNull();
  });

  it('takes absent folders for empty ones, and a folder that is a link for no answer', () => {
    const absent = new Map<string, Peeked>([
      [l.backups, { entry: null }],
      [l.manifests, { entry: null }],
    ]);
    expect(censusOf(absent, l, null)).toEqual({ backups: [], manifests: [] });
    absent.set(l.backups, { entry: entry('symlink') });
    expect(censusOf(absent, l, null)).toBeNull();
  });
});
