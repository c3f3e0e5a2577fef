/** The pure arithmetic of min-healthy: the count, the order, and whether a wave may start. */
import { describe, expect, it } from 'vitest';
import { belowMinHealthy, minHealthyCount, unhealthyFirst } from '../../src/rollout/around-waves.js';

describe('min-healthy', () => {
  it('is a count (at most every target) or a share rounded up', () => {
    expect(minHealthyCount({ count: 2 }, 3)).toBe(2);
    expect(minHealthyCount({ count: 5 }, 3)).toBe(3);
    expect(minHealthyCount({ percent: 66 }, 3)).toBe(2);
    expect(minHealthyCount({ percent: 66.7 }, 3)).toBe(3);
    expect(minHealthyCount({ percent: 50 }, 4)).toBe(2);
    expect(minHealthyCount({ percent: 0 }, 4)).toBe(0);
  });

  it('puts unhealthy targets first, the rest in listed order', () => {
    const t = ['a', 'b', 'c', 'd'].map((name) => ({ name }));
    expect(unhealthyFirst(t, new Set(['c', 'a'])).map((x) => x.name)).toEqual(['a', 'c', 'b', 'd']);
  });

  it('refuses a wave that takes the healthy count below it; unhealthy targets in a wave cost nothing', () => {
    expect(belowMinHealthy({ count: 2 }, 3, new Set(), ['a'], 1)).toBeNull();
    expect(belowMinHealthy({ count: 2 }, 3, new Set(), ['a', 'b'], 1)).toMatch(
      /^wave 1 would leave 1 of 3 target\(s\) healthy while it deploys, below min-healthy 2/,
    );
    expect(belowMinHealthy({ count: 2 }, 3, new Set(['c']), ['c'], 1)).toBeNull();
    expect(belowMinHealthy({ count: 2 }, 3, new Set(['c']), ['a'], 2)).toMatch(/wave 2 would leave 1 of 3/);
  });
});
