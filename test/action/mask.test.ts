import { describe, expect, it } from 'vitest';
import { maskDeep } from '../../src/action/mask.js';

describe('maskDeep', () => {
  it('masks every string, at any depth, and each line of a multi-line secret', () => {
    const key = 'first-line-of-key\nsecond-line-of-key';
    const value = {
      error: 'auth failed with first-line-of-key',
      steps: [{ detail: 'echo second-line-of-key', durationMs: 3 }],
      nested: { list: ['ok', `whole ${key}`] },
      n: null,
    };
    expect(maskDeep(value, [key])).toEqual({
      error: 'auth failed with ***',
      steps: [{ detail: 'echo ***', durationMs: 3 }],
      nested: { list: ['ok', 'whole ***'] },
      n: null,
    });
    expect(value.error).toContain('first-line-of-key');
  });

  it('returns the value itself when there is nothing to mask', () => {
    const value = { a: 'x' };
    expect(maskDeep(value, [])).toBe(value);
  });
});
