import { describe, expect, it } from 'vitest';
import type { CountOrPercent } from '../../src/config/types.js';
import { batchSize, maxFailuresReached, splitWaves } from '../../src/rollout/waves.js';

type Serial = number | string;

/**
 * Ansible's rules, transcribed line by line from lib/ansible/utils/helpers.py
 * (`pct_to_int`) and lib/ansible/executor/playbook_executor.py
 * (`_get_serialized_batches`), including the `pop(0)` loop, as the reference.
 */
function pctToInt(value: Serial, numItems: number, minValue = 1): number {
  if (typeof value === 'string' && value.endsWith('%')) {
    const valuePct = parseInt(value.replace('%', ''), 10);
    return Math.trunc((valuePct / 100.0) * numItems) || minValue;
  }
  return Math.trunc(Number(value));
}

function ansibleSerializedBatches<T>(hosts: T[], serial: Serial | Serial[]): T[][] {
  const allHosts = [...hosts];
  const allHostsLen = allHosts.length;
  let serialBatchList = Array.isArray(serial) ? serial : [serial];
  if (serialBatchList.length === 0) serialBatchList = [-1];
  let curItem = 0;
  const serializedBatches: T[][] = [];
  while (allHosts.length > 0) {
    const s = pctToInt(serialBatchList[curItem]!, allHostsLen);
    if (s <= 0) {
      serializedBatches.push(allHosts);
      break;
    } else {
      const playHosts: T[] = [];
      for (let x = 0; x < s; x++) if (allHosts.length > 0) playHosts.push(allHosts.shift()!);
      serializedBatches.push(playHosts);
    }
    curItem += 1;
    if (curItem > serialBatchList.length - 1) curItem = serialBatchList.length - 1;
  }
  return serializedBatches;
}

/** How the config layer resolves `waves` (number | "N%" | list) into CountOrPercent[]. */
function resolve(serial: Serial | Serial[]): CountOrPercent[] {
  const list = Array.isArray(serial) ? serial : [serial];
  return list.map((v) => (typeof v === 'string' ? { percent: Number(v.replace('%', '')) } : { count: v }));
}

const SERIALS: Array<Serial | Serial[]> = [
  [1, '100%'],
  ['30%'],
  [1, 5, '50%'],
  3,
  '10%',
  1,
  '100%',
  '1%',
  '29%',
  '33%',
  '57%',
  [2, '25%', 10],
  ['10%', '20%', '50%'],
  [1, 0],
  ['0%'],
  [],
];

describe('splitWaves', () => {
  for (const serial of SERIALS) {
    it(`matches Ansible for serial ${JSON.stringify(serial)} and 1–100 targets`, () => {
      for (let n = 1; n <= 100; n++) {
        const hosts = Array.from({ length: n }, (_, i) => `h${i}`);
        const expected = ansibleSerializedBatches(hosts, serial);
        const actual = splitWaves(hosts, resolve(serial));
        expect(actual, `n=${n}`).toEqual(expected);
        // Sanity: every host exactly once, in order, no empty wave.
        expect(actual.flat()).toEqual(hosts);
        expect(actual.every((w) => w.length > 0)).toBe(true);
      }
    });
  }

  it('gives the batches a person would compute by hand', () => {
    const hosts = Array.from({ length: 10 }, (_, i) => i);
    expect(splitWaves(hosts, resolve([1, '100%']))).toEqual([[0], [1, 2, 3, 4, 5, 6, 7, 8, 9]]);
    expect(splitWaves(hosts, resolve(['30%'])).map((w) => w.length)).toEqual([3, 3, 3, 1]);
    expect(splitWaves(hosts, resolve([1, 5, '50%'])).map((w) => w.length)).toEqual([1, 5, 4]);
    expect(splitWaves(hosts, resolve(3)).map((w) => w.length)).toEqual([3, 3, 3, 1]);
    expect(splitWaves(hosts, resolve('10%')).map((w) => w.length)).toEqual(Array(10).fill(1));
    // 5% of 10 is 0.5 → 0 → at least 1.
    expect(splitWaves(hosts, resolve('5%')).map((w) => w.length)).toEqual(Array(10).fill(1));
    // A percentage of the total, not of what is left.
    expect(splitWaves(hosts, resolve(['40%'])).map((w) => w.length)).toEqual([4, 4, 2]);
  });

  it('keeps Ansible floating-point truncation: 29% of 100 is 28', () => {
    expect(batchSize({ percent: 29 }, 100)).toBe(28);
    expect(batchSize({ percent: 30 }, 100)).toBe(30);
  });

  it('accepts fractional percentages (Ansible would reject them)', () => {
    expect(batchSize({ percent: 12.5 }, 16)).toBe(2);
  });

  it('returns no waves for no targets', () => {
    expect(splitWaves([], resolve([1, '100%']))).toEqual([]);
  });
});

describe('maxFailuresReached', () => {
  it('stops only past a count', () => {
    expect(maxFailuresReached(0, 10, { count: 0 })).toBe(false);
    expect(maxFailuresReached(1, 10, { count: 0 })).toBe(true);
    expect(maxFailuresReached(1, 10, { count: 1 })).toBe(false);
    expect(maxFailuresReached(2, 10, { count: 1 })).toBe(true);
  });

  it('stops only when the failed share exceeds a percentage of the selected targets', () => {
    expect(maxFailuresReached(2, 20, { percent: 10 })).toBe(false); // exactly 10%
    expect(maxFailuresReached(3, 20, { percent: 10 })).toBe(true);
    expect(maxFailuresReached(1, 3, { percent: 33 })).toBe(true); // 33.3% > 33%
    expect(maxFailuresReached(1, 3, { percent: 34 })).toBe(false);
    expect(maxFailuresReached(0, 5, { percent: 0 })).toBe(false);
    expect(maxFailuresReached(1, 5, { percent: 0 })).toBe(true);
    expect(maxFailuresReached(5, 5, { percent: 100 })).toBe(false);
  });
});
