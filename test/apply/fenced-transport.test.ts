/**
 * The fence's wrapper (pure logic, a fake transport): every method that can
 * change the target asks the fence first; reads pass straight through.
 */
import { describe, expect, it } from 'vitest';
import { fenced } from '../../src/apply/fenced-transport.js';
import type { Transport } from '../../src/transport/transport.js';

const CHANGES = [
  'writeFile',
  'writeStream',
  'writeMany',
  'publishFile',
  'copyFile',
  'patchFile',
  'createExclusive',
  'createExclusiveAndPeek',
  'symlink',
  'chmod',
  'rename',
  'link',
  'mkdirp',
  'makeDir',
  'makeDirs',
  'unlink',
  'rmdir',
  'removeTree',
] as const;
const READS = [
  'lstat',
  'readFile',
  'readdir',
  'walk',
  'peek',
  'statExactMany',
  'walkExact',
  'rawNames',
] as const;

function fake(calls: string[]): Transport {
  const methods: Record<string, () => Promise<string>> = {};
  for (const name of [...CHANGES, ...READS]) methods[name] = () => (calls.push(name), Promise.resolve(name));
  return methods as unknown as Transport;
}

describe('fenced(transport, check)', () => {
  it('refuses every change once the fence throws, before the call reaches the target', async () => {
    const calls: string[] = [];
    const t = fenced(fake(calls), () => {
      throw new Error('lost');
    }) as unknown as Record<string, () => Promise<unknown>>;
    for (const name of CHANGES) await expect(t[name]!(), name).rejects.toThrow('lost');
    expect(calls).toEqual([]);
  });

  it('lets reads through while the fence throws, and changes through while it holds', async () => {
    const calls: string[] = [];
    let lost = true;
    const t = fenced(fake(calls), () => {
      if (lost) throw new Error('lost');
    }) as unknown as Record<string, () => Promise<unknown>>;
    for (const name of READS) expect(await t[name]!()).toBe(name);
    lost = false;
    for (const name of CHANGES) expect(await t[name]!()).toBe(name);
    expect(calls).toEqual([...READS, ...CHANGES]);
  });

  it('tells `onCommand` before a command runs, and only then', async () => {
    const calls: string[] = [];
    const real = fake(calls) as unknown as Record<string, () => Promise<string>>;
    real.exec = () => (calls.push('exec'), Promise.resolve('exec'));
    const t = fenced(
      real as unknown as Transport,
      () => undefined,
      () => calls.push('told'),
    ) as unknown as Record<string, () => Promise<unknown>>;
    for (const name of [...READS, ...CHANGES]) await t[name]!();
    expect(calls).not.toContain('told');
    expect(await t.exec!()).toBe('exec');
    expect(calls.slice(-2)).toEqual(['told', 'exec']);
  });
});
