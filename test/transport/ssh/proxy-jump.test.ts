import { describe, expect, it } from 'vitest';
import { parseProxyJump } from '../../../src/transport/ssh/proxy-jump.js';

describe('parseProxyJump', () => {
  it('reads [user@]host[:port] hops, in order', () => {
    expect(parseProxyJump('bastion')).toEqual([{ host: 'bastion', port: 22 }]);
    expect(parseProxyJump('ops@bastion:2222')).toEqual([{ user: 'ops', host: 'bastion', port: 2222 }]);
    expect(parseProxyJump('a@one, two:23 ,ssh://b@three')).toEqual([
      { user: 'a', host: 'one', port: 22 },
      { host: 'two', port: 23 },
      { user: 'b', host: 'three', port: 22 },
    ]);
    expect(parseProxyJump('me@[::1]:2200')).toEqual([{ user: 'me', host: '::1', port: 2200 }]);
    expect(parseProxyJump('[fe80::1]')).toEqual([{ host: 'fe80::1', port: 22 }]);
    expect(parseProxyJump('first.last@corp@bastion')).toEqual([
      { user: 'first.last@corp', host: 'bastion', port: 22 },
    ]);
  });

  it.each(['', ' , ', '@host', 'host:', 'host:0', 'host:70000', 'host:22x', 'user@', 'a b', 'host/x'])(
    'refuses %j naming the value',
    (value) => {
      expect(() => parseProxyJump(value)).toThrow(/proxy-jump .*expected \[user@\]host\[:port\]/);
      try {
        parseProxyJump(value);
      } catch (error) {
        expect(error).toMatchObject({ code: 'E_CONFIG' });
      }
    },
  );
});
