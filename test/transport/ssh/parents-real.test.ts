/**
 * parentsReal asks every level of a path at once but judges them in order, as
 * a walk one level at a time would: what lies below a missing folder, a file
 * or a link never decides. Pure logic: lstat answers are given per path.
 */
import { describe, expect, it } from 'vitest';
import { parentsReal } from '../../../src/transport/ssh/parents-real.js';
import type { Entry } from '../../../src/transport/transport.js';

const dir: Entry = { type: 'dir', mode: 0o755, size: 0, mtimeMs: 0 };
const file: Entry = { ...dir, type: 'file', mode: 0o644 };
const link: Entry = { ...dir, type: 'symlink', mode: 0o777 };

function lstatOf(answers: Record<string, Entry | null | Error>) {
  const asked: string[] = [];
  const lstat = (rel: string) => {
    asked.push(rel);
    const a = answers[rel];
    return a instanceof Error ? Promise.reject(a) : Promise.resolve(a ?? null);
  };
  return { lstat, asked };
}

describe('parentsReal', () => {
  it('asks every level at once and passes real folders', async () => {
    const { lstat, asked } = lstatOf({ a: dir, 'a/b': dir, 'a/b/c': dir });
    await parentsReal(lstat, 'host', 'mkdir', 'a/b/c', true);
    expect(asked).toEqual(['a', 'a/b', 'a/b/c']);
  });

  it('refuses the first link, whatever the levels below it answered', async () => {
    const { lstat } = lstatOf({ a: dir, 'a/l': link, 'a/l/x': new Error('EACCES below the link') });
    await expect(parentsReal(lstat, 'host', 'write', 'a/l/x/f')).rejects.toMatchObject({ code: 'E_UNSAFE' });
  });

  it('stops at a missing folder or a file (the call fails on its own), even above a link or an error', async () => {
    for (const top of [null, file]) {
      const { lstat } = lstatOf({ a: top, 'a/b': link, 'a/b/c': new Error('not asked one by one') });
      await expect(parentsReal(lstat, 'host', 'write', 'a/b/c/f')).resolves.toBeUndefined();
    }
  });

  it('throws the error of the first level that failed, as one by one', async () => {
    const failure = new Error('permission denied on a/b');
    const { lstat } = lstatOf({ a: dir, 'a/b': failure, 'a/b/c': link });
    await expect(parentsReal(lstat, 'host', 'write', 'a/b/c/f')).rejects.toBe(failure);
  });
});
