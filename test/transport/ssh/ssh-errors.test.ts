import { describe, expect, it } from 'vitest';
import { connectError, endpointLabel, hostKeyError, sanitized } from '../../../src/transport/ssh/errors.js';
import { fingerprintSha256 } from '../../../src/transport/ssh/known-hosts.js';

// A syntactically valid ed25519 public key blob (type + 32 key bytes).
const blob = Buffer.concat([
  Buffer.from([0, 0, 0, 11]),
  Buffer.from('ssh-ed25519'),
  Buffer.from([0, 0, 0, 32]),
  Buffer.alloc(32, 7),
]);
const target = { user: 'deploy', host: 'soup-a', port: 2222 };

describe('hostKeyError', () => {
  it('unknown host: names the offered key and how to trust it', () => {
    const e = hostKeyError(target, { status: 'unknown' }, blob);
    expect(e.code).toBe('E_CONNECT');
    expect(e.message).toContain('[soup-a]:2222 is not in known-hosts');
    expect(e.message).toContain(`ssh-ed25519 ${fingerprintSha256(blob)}`);
    expect(e.message).toContain('ssh-keyscan -p 2222 soup-a');
    expect(e.message).toContain('strict-host-key: false');
    expect(e.message).not.toContain('\n');
  });

  it('changed key: says it does not match and what known-hosts has', () => {
    const e = hostKeyError({ ...target, port: 22 }, { status: 'changed', knownTypes: ['ssh-rsa'] }, blob);
    expect(e.message).toContain('host key of soup-a does not match known-hosts');
    expect(e.message).toContain(fingerprintSha256(blob));
    expect(e.message).toContain('listed there: ssh-rsa');
    expect(e.message).toContain('`ssh-keyscan soup-a`');
  });

  it('revoked key, and jump hosts are named as such', () => {
    const e = hostKeyError({ ...target, role: 'jump host' }, { status: 'revoked' }, blob);
    expect(e.message).toContain('@revoked');
    expect(e.message).toContain('jump host deploy@soup-a:2222');
    expect(endpointLabel(target)).toBe('deploy@soup-a:2222');
  });
});

describe('connectError', () => {
  const secret =
    '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n-----END OPENSSH PRIVATE KEY-----';

  it.each([
    [
      { message: 'All configured authentication methods failed', level: 'client-authentication' },
      'authentication failed',
    ],
    [
      { message: 'Timed out while waiting for handshake', level: 'client-timeout' },
      'no SSH handshake within 1500 ms',
    ],
    [
      { message: 'connect ECONNREFUSED', code: 'ECONNREFUSED', level: 'client-socket' },
      'connection refused; is sshd listening on port 2222?',
    ],
    [{ message: 'getaddrinfo ENOTFOUND soup-a', code: 'ENOTFOUND' }, 'does not resolve'],
    [{ message: 'connect EHOSTUNREACH', code: 'EHOSTUNREACH' }, 'host unreachable'],
  ])('explains %j', (error, text) => {
    const e = connectError(target, error, [secret], 1500);
    expect(e.code).toBe('E_CONNECT');
    expect(e.message).toContain(text);
    expect(e.message).toContain('deploy@soup-a:2222');
  });

  it('masks secrets in messages and causes, keeping no stack of the original', () => {
    const original = Object.assign(new Error(`Cannot parse privateKey: ${secret}`), {
      level: 'protocol',
      extra: secret,
    });
    const e = connectError(target, original, [secret], 1000);
    expect(e.message).not.toContain('b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ');
    expect(e.message).toContain('***');
    const cause = e.cause as Error & { level?: string; extra?: string };
    expect(cause).not.toBe(original);
    expect(cause.message).not.toContain('b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ');
    expect(cause.level).toBe('protocol');
    expect(cause.extra).toBeUndefined();
    expect(sanitized({ message: 'x', code: 4 }, [])).toMatchObject({ message: 'x', code: 4 });
  });
});
