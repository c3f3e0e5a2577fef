/** The keep-many and remove-many answers read as hostile input (many-ops-protocol.ts). Pure. */
import { describe, expect, it } from 'vitest';
import { parseKeepMany, parseRemoveMany } from '../../../src/transport/ssh/many-ops-protocol.js';

const hex = (s: string) => Buffer.from(s).toString('hex');

describe('parseKeepMany', () => {
  it('reads one entry per path, in order', () => {
    expect(parseKeepMany(`f33188 - d l${hex('../t x')} c33261 EXDEV !EACCES`, 6)).toEqual([
      { kind: 'file', mode: 33188, linked: true },
      { kind: 'none' },
      { kind: 'dir' },
      { kind: 'symlink', linkTarget: '../t x' },
      { kind: 'file', mode: 33261, linked: false, errno: 'EXDEV' },
      { kind: 'failed', errno: 'EACCES' },
    ]);
    expect(parseKeepMany('', 0)).toEqual([]);
  });

  it('refuses anything else: a count that differs, a bad token, a NUL or an endless link text', () => {
    expect(parseKeepMany('f33188 -', 3)).toBeNull();
    expect(parseKeepMany('f33188 - d', 2)).toBeNull();
    expect(parseKeepMany('x1', 1)).toBeNull();
    expect(parseKeepMany('f-1', 1)).toBeNull();
    expect(parseKeepMany('f12345678901', 1)).toBeNull();
    expect(parseKeepMany('c33188', 1)).toBeNull(); // a copy without its errno
    expect(parseKeepMany('c33188 exdev', 1)).toBeNull();
    expect(parseKeepMany(`l${hex('a\0b')}`, 1)).toBeNull();
    expect(parseKeepMany(`l${'61'.repeat(4097)}`, 1)).toBeNull();
    expect(parseKeepMany('l6', 1)).toBeNull();
  });
});

describe('parseRemoveMany', () => {
  it('reads the paths that failed by index', () => {
    expect(parseRemoveMany('', 3)).toEqual(new Map());
    expect(parseRemoveMany('0:EACCES 2:ELOOP', 3)).toEqual(
      new Map([
        [0, 'EACCES'],
        [2, 'ELOOP'],
      ]),
    );
  });

  it('refuses an index past the paths asked, or a garbled word', () => {
    expect(parseRemoveMany('3:EACCES', 3)).toBeNull();
    expect(parseRemoveMany('1:eacces', 3)).toBeNull();
    expect(parseRemoveMany('1', 3)).toBeNull();
    expect(parseRemoveMany('ok', 3)).toBeNull();
  });
});
