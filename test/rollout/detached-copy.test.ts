/** detachedCopy: a report copy that later changes to the original do not reach. */
import { expect, it } from 'vitest';
import { detachedCopy } from '../../src/rollout/detached-copy.js';

it('copies objects and arrays all the way down: changing the original leaves the copy as it was', () => {
  const original = {
    name: 't',
    bytes: 3,
    error: null as string | null,
    changes: { added: ['a', 'b'], drift: [{ path: 'x', expected: null, actual: 'f00' }] },
    steps: [{ name: 'apply', status: 'running', durationMs: 0 }],
  };
  const copy = detachedCopy(original);
  expect(copy).toEqual(original);
  original.changes.added.push('c');
  original.changes.drift[0]!.actual = 'bad';
  original.steps[0]!.status = 'failed';
  original.error = 'late';
  expect(copy).toEqual({
    name: 't',
    bytes: 3,
    error: null,
    changes: { added: ['a', 'b'], drift: [{ path: 'x', expected: null, actual: 'f00' }] },
    steps: [{ name: 'apply', status: 'running', durationMs: 0 }],
  });
  expect(Array.isArray(copy.changes.added)).toBe(true);
});
