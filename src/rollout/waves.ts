/**
 * Wave arithmetic, pure. `splitWaves` follows Ansible's `serial` exactly
 * (`PlaybookExecutor._get_serialized_batches` + `utils.helpers.pct_to_int`), so
 * people who know Ansible get the batches they expect.
 */
import type { CountOrPercent } from '../config/types.js';

/**
 * The size of one batch: a count as is, a percentage of `total` truncated
 * (Ansible computes `int((pct / 100.0) * total) or 1` in floating point, and so
 * do we, so `29%` of 100 is 28 there and here) and at least 1.
 * A count of 0 (or less) means "all remaining" as in Ansible.
 */
export function batchSize(size: CountOrPercent, total: number): number {
  if ('percent' in size) return Math.trunc((size.percent / 100) * total) || 1;
  return Math.trunc(size.count);
}

/**
 * Split `items` (in order) into waves. Each size is a count or a percentage of
 * all items; the last size repeats until every item is placed; a size larger
 * than what is left takes the rest. An empty `waves` list, or a size of 0,
 * puts all remaining items in one wave.
 *
 * @example splitWaves(['a','b','c','d','e'], [{ count: 1 }, { percent: 50 }]) // [['a'], ['b','c'], ['d','e']]
 */
export function splitWaves<T>(items: readonly T[], waves: readonly CountOrPercent[]): T[][] {
  const total = items.length;
  const sizes = waves.length > 0 ? waves : [{ count: 0 }];
  const out: T[][] = [];
  let next = 0;
  let index = 0;
  while (next < total) {
    const size = batchSize(sizes[Math.min(index, sizes.length - 1)]!, total);
    if (size <= 0) {
      out.push(items.slice(next));
      break;
    }
    out.push(items.slice(next, next + size));
    next += size;
    index++;
  }
  return out;
}

/**
 * True when `failed` targets are past `maxFailures` and no further wave may
 * start. "Past" means strictly more (SPEC: "past it the rollout stops"), like
 * Ansible's `max_fail_percentage`, which aborts when the failed share *exceeds*
 * the value: `max-failures: 0` stops at the first failure, `1` tolerates one,
 * `"10%"` of 20 targets tolerates 2 and stops at 3. A percentage is of `total`,
 * the selected targets, compared exactly (no rounding).
 */
export function maxFailuresReached(failed: number, total: number, maxFailures: CountOrPercent): boolean {
  if ('percent' in maxFailures) return failed * 100 > maxFailures.percent * total;
  return failed > maxFailures.count;
}
