/**
 * The file helper's answer about the target folder (op 21) is read from the host: hostile
 * input. Only the three shapes count; a relative, oversized or NUL-holding path is refused.
 */
import { describe, expect, it } from 'vitest';
import { parseRootAnswer } from '../../../src/transport/ssh/shell-ops-protocol.js';

const hex = (s: string) => Buffer.from(s, 'utf8').toString('hex');

describe('parseRootAnswer', () => {
  it('reads missing, not a folder, and a folder with its real path and the login folder', () => {
    expect(parseRootAnswer('-')).toEqual({ kind: 'missing' });
    expect(parseRootAnswer('n')).toEqual({ kind: 'notDir' });
    expect(parseRootAnswer(`d ${hex('/srv/ä pp')} ${hex('/home/deploy')}`)).toEqual({
      kind: 'dir',
      real: '/srv/ä pp',
      home: '/home/deploy',
    });
    // No login folder known: no home to compare with, the folder still counts.
    expect(parseRootAnswer(`d ${hex('/srv/app')} `)).toEqual({ kind: 'dir', real: '/srv/app', home: null });
  });

  it('refuses anything else: a relative or oversized real path, a NUL, odd hex, extra words', () => {
    expect(parseRootAnswer(`d ${hex('srv/app')} `)).toBeNull();
    expect(parseRootAnswer(`d ${hex(`/${'a'.repeat(5000)}`)} `)).toBeNull();
    expect(parseRootAnswer(`d ${hex('/srv\0/x')} `)).toBeNull();
    expect(parseRootAnswer(`d ${hex('/srv')}0 `)).toBeNull();
    expect(parseRootAnswer(`d ${hex('/srv')} ${hex('/h')} more`)).toBeNull();
    expect(parseRootAnswer('')).toBeNull();
    expect(parseRootAnswer('d')).toBeNull();
  });
});
