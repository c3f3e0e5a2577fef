/**
 * An authoritative plan is linear in the strays on the target (issue 13: 300,000
 * strays once took 1,674 s through a `deleted.includes` per stray). Not timed: the
 * planner runs with every linear array search (includes, indexOf, find, some, …)
 * counting the elements it scans, and the count must grow like the input does.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { planTarget } from '../../src/plan/plan.js';
import type { Change } from '../../src/diff/types.js';
import type { Observed } from '../../src/plan/types.js';
import type { ReleaseFile } from '../../src/plan/context.js';

const SEARCHES = [
  'includes',
  'indexOf',
  'lastIndexOf',
  'find',
  'findIndex',
  'some',
  'every',
  'filter',
] as const;
const originals = new Map(SEARCHES.map((name) => [name, Array.prototype[name]]));
afterEach(() => {
  for (const [name, fn] of originals)
    Object.defineProperty(Array.prototype, name, { value: fn, writable: true });
});

/** Elements the planner's array searches scan while planning `strays` strays and as many deletes. */
function scannedFor(strays: number): { scanned: number; deletes: number } {
  const blob = 'a'.repeat(40);
  const release = new Map<string, ReleaseFile>();
  const observed = new Map<string, Observed>();
  const changes: Change[] = [];
  for (let i = 0; i < 100; i++) {
    release.set(`app/f${i}`, { mode: '100644', blob });
    observed.set(`app/f${i}`, { type: 'file', blob, mode: 0o644 });
  }
  for (let i = 0; i < strays; i++) {
    // As many files the release deleted as strays: the old quadratic check crossed the two.
    changes.push({ status: 'deleted', path: `old/d${i}`, oldMode: '100644', oldBlob: blob });
    observed.set(`old/d${i}`, { type: 'file', blob, mode: 0o644 });
    observed.set(`junk/s${i}`, { type: 'file', blob: null, mode: 0 });
  }
  let scanned = 0;
  for (const [name, fn] of originals) {
    Object.defineProperty(Array.prototype, name, {
      writable: true,
      value(this: unknown[], ...args: unknown[]) {
        scanned += this.length;
        return (fn as (...a: unknown[]) => unknown).apply(this, args);
      },
    });
  }
  const plan = planTarget({
    diff: {
      from: '1'.repeat(40),
      to: '2'.repeat(40),
      source: '.',
      changes,
      counts: { added: 0, updated: 0, deleted: strays, renamed: 0 },
    },
    mode: 'authoritative',
    protect: ['uploads/**'],
    onDrift: 'fail',
    stateDir: '.diffship',
    kept: [],
    observed,
    release,
  });
  for (const [name, fn] of originals)
    Object.defineProperty(Array.prototype, name, { value: fn, writable: true });
  return { scanned, deletes: plan.deletes.length };
}

describe('an authoritative plan with many strays', () => {
  it('deletes every stray and every deleted file, scanning a bounded number of elements per entry', () => {
    const small = scannedFor(2_000);
    const big = scannedFor(8_000);
    expect(small.deletes).toBe(4_000);
    expect(big.deletes).toBe(16_000);
    // Linear: 4× the entries scan at most about 4× the elements (a quadratic search scans 16×).
    expect(big.scanned).toBeLessThanOrEqual(4.5 * small.scanned);
    expect(big.scanned).toBeLessThanOrEqual(10 * 16_000);
  });
});
