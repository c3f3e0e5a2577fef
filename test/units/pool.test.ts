import { expect, it } from 'vitest';
import { forEachLimit } from '../../src/pool.js';

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

it('forEachLimit visits every item once with its index, at most `limit` at a time', async () => {
  const seen: string[] = [];
  let active = 0;
  let peak = 0;
  const out = await forEachLimit(['a', 'b', 'c', 'd', 'e'], 2, async (item, i) => {
    active++;
    peak = Math.max(peak, active);
    await tick(5 - i);
    seen.push(`${i}:${item}`);
    active--;
  });
  expect(out).toBeUndefined();
  expect(seen.sort()).toEqual(['0:a', '1:b', '2:c', '3:d', '4:e']);
  expect(peak).toBe(2);
  await forEachLimit([], 4, () => Promise.reject(new Error('never called')));
});

it('forEachLimit rejects with the first error once the calls in flight have settled, starting none after it', async () => {
  const started: number[] = [];
  let settled = 0;
  const run = forEachLimit([1, 2, 3, 4, 5, 6], 2, async (n) => {
    started.push(n);
    await tick(n === 1 ? 30 : 1);
    settled++;
    if (n === 2) throw new Error('two');
  });
  await expect(run).rejects.toThrow('two');
  // Item 1 was still in flight when 2 failed: the rejection waited for it.
  expect(settled).toBe(started.length);
  expect(started).not.toContain(6);
});
