import { describe, expect, it } from 'vitest';
import { withOverrides } from '../../src/config/overrides.js';
import { resolveConfig } from '../../src/config/resolve.js';
import { DiffshipError, exitCodeFor } from '../../src/errors.js';

const base = resolveConfig({ targets: [{ name: 'a', path: './a' }] }, { baseDir: '/repo/config', env: {} });

describe('withOverrides', () => {
  it('returns the config unchanged without overrides, and never mutates it', () => {
    expect(withOverrides(base, {})).toEqual(base);
    const next = withOverrides(base, { mode: 'authoritative' });
    expect(next).not.toBe(base);
    expect(base.mode).toBe('additive');
  });

  it('applies every override, from strings as flags and inputs give them', () => {
    const next = withOverrides(base, {
      mode: 'authoritative',
      waves: '1, 25%,100%',
      maxParallel: '8',
      onDrift: 'skip',
      maxDeletes: '0',
      maxFailures: '10%',
    });
    expect(next).toMatchObject({
      mode: 'authoritative',
      waves: [{ count: 1 }, { percent: 25 }, { percent: 100 }],
      maxParallel: 8,
      onDrift: 'skip',
      maxDeletes: 0,
      maxFailures: { percent: 10 },
    });
  });

  it('takes numbers, lists and parsed wave sizes too', () => {
    expect(
      withOverrides(base, { waves: [2, '50%'], maxParallel: 3, maxDeletes: 5, maxFailures: 1 }),
    ).toMatchObject({
      waves: [{ count: 2 }, { percent: 50 }],
      maxParallel: 3,
      maxDeletes: 5,
      maxFailures: { count: 1 },
    });
    expect(withOverrides(base, { waves: [{ count: 1 }, { percent: 100 }] }).waves).toEqual([
      { count: 1 },
      { percent: 100 },
    ]);
    expect(withOverrides(base, { waves: 3 }).waves).toEqual([{ count: 3 }]);
  });

  it('treats "" as not given (unset action inputs)', () => {
    expect(
      withOverrides(base, {
        mode: '',
        waves: '',
        maxParallel: '',
        onDrift: '',
        maxDeletes: '',
        maxFailures: '',
      }),
    ).toEqual(base);
  });

  it.each([
    [{ mode: 'overwrite' }, '--mode: expected additive or authoritative (got "overwrite")'],
    [{ onDrift: 'ignore' }, '--on-drift: expected fail, overwrite or skip (got "ignore")'],
    [
      { waves: '1,abc' },
      '--waves: expected counts or "N%" separated by commas, like 1,50%,100% (got "1,abc")',
    ],
    [{ waves: '0' }, '--waves: expected counts or "N%" separated by commas, like 1,50%,100% (got "0")'],
    [{ waves: '150%' }, '--waves: expected counts or "N%" separated by commas, like 1,50%,100% (got "150%")'],
    [{ maxParallel: '0' }, '--max-parallel: expected a count of 1 or more (got "0")'],
    [{ maxParallel: 'many' }, '--max-parallel: expected a count of 1 or more (got "many")'],
    [{ maxDeletes: '-1' }, '--max-deletes: expected a count (got "-1")'],
    [{ maxFailures: '101%' }, '--max-failures: expected a count or "N%" (got "101%")'],
  ])('refuses %j naming the flag', (overrides, message) => {
    let error: unknown;
    try {
      withOverrides(base, overrides);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(DiffshipError);
    expect((error as DiffshipError).code).toBe('E_USAGE');
    expect((error as Error).message).toBe(message);
    expect(exitCodeFor(error)).toBe(2);
  });

  it('lists every bad flag in one error', () => {
    expect(() => withOverrides(base, { mode: 'x', maxParallel: 0 })).toThrow(
      '--mode: expected additive or authoritative (got "x"); --max-parallel: expected a count of 1 or more (got 0)',
    );
  });

  it('refuses --mode authoritative when a local target holds the config folder', () => {
    const risky = resolveConfig(
      { targets: [{ name: 'repo', path: '..' }] },
      { baseDir: '/repo/config', env: {} },
    );
    expect(risky.warnings).toHaveLength(1);
    expect(() => withOverrides(risky, { mode: 'authoritative' })).toThrow(
      '--mode authoritative: targets[0] (repo): /repo holds the config folder /repo/config; an authoritative deploy would delete it',
    );
    expect(withOverrides(risky, { mode: 'additive' }).mode).toBe('additive');
  });
});
