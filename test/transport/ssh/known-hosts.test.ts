import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  blobKeyType,
  fingerprintSha256,
  hostFieldMatches,
  hostLookupName,
  knownKeyTypes,
  parseKnownHosts,
  verifyHostKey,
} from '../../../src/transport/ssh/known-hosts.js';

let dir: string;
const keys: Record<string, { type: string; base64: string; blob: Buffer; fingerprint: string }> = {};

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'diffship-kh-'));
  for (const [name, type] of [
    ['ed', 'ed25519'],
    ['ed2', 'ed25519'],
    ['ec', 'ecdsa'],
    ['rsa', 'rsa'],
  ] as const) {
    const file = path.join(dir, name);
    execFileSync('ssh-keygen', [
      '-q',
      '-t',
      type,
      ...(type === 'rsa' ? ['-b', '2048'] : []),
      '-N',
      '',
      '-f',
      file,
    ]);
    const [keyType = '', base64 = ''] = fs.readFileSync(`${file}.pub`, 'utf8').trim().split(/\s+/);
    // OpenSSH's own fingerprint, to compare ours against.
    const fingerprint = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', `${file}.pub`], {
      encoding: 'utf8',
    }).split(' ')[1]!;
    keys[name] = { type: keyType, base64, blob: Buffer.from(base64, 'base64'), fingerprint };
  }
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const k = (name: string) => keys[name]!;

describe('parseKnownHosts', () => {
  it('reads plain, marked, commented and CRLF lines, skipping malformed ones', () => {
    const text = [
      '# a comment',
      '',
      `host-a,10.0.0.1 ${k('ed').type} ${k('ed').base64} comment here`,
      `@revoked host-b ${k('ec').type} ${k('ec').base64}`,
      `@cert-authority *.example.com ${k('rsa').type} ${k('rsa').base64}`,
      `@unknown-marker host-c ${k('ed').type} ${k('ed').base64}`,
      'host-d ssh-ed25519',
      `host-e ssh-rsa ${k('ed').base64}`, // type and blob disagree
      `host-f ${k('ed2').type} not*base64`,
      `[host-g]:2222 ${k('ed2').type} ${k('ed2').base64}\r`,
    ].join('\r\n');
    const lines = parseKnownHosts(text);
    expect(lines.map((l) => [l.line, l.marker, l.hosts, l.keyType])).toEqual([
      [3, null, 'host-a,10.0.0.1', 'ssh-ed25519'],
      [4, 'revoked', 'host-b', k('ec').type],
      [5, 'cert-authority', '*.example.com', 'ssh-rsa'],
      [10, null, '[host-g]:2222', 'ssh-ed25519'],
    ]);
    expect(lines[0]!.key.equals(k('ed').blob)).toBe(true);
    expect(parseKnownHosts('')).toEqual([]);
  });
});

describe('hostFieldMatches', () => {
  it('uses the bare name on port 22 and [host]:port otherwise', () => {
    expect(hostLookupName('h', 22)).toBe('h');
    expect(hostLookupName('h', 2222)).toBe('[h]:2222');
    expect(hostFieldMatches('h', 'h', 22)).toBe(true);
    expect(hostFieldMatches('h', 'h', 2222)).toBe(false);
    expect(hostFieldMatches('[h]:2222', 'h', 2222)).toBe(true);
    expect(hostFieldMatches('[h]:2222', 'h', 22)).toBe(false);
    expect(hostFieldMatches('[h]:22', 'h', 22)).toBe(false);
  });

  it('matches comma lists, wildcards, negations, case-insensitively', () => {
    expect(hostFieldMatches('a,b,Soup-A.internal', 'soup-a.INTERNAL', 22)).toBe(true);
    expect(hostFieldMatches('*.internal', 'soup-a.internal', 22)).toBe(true);
    expect(hostFieldMatches('*.internal', 'internal', 22)).toBe(false);
    expect(hostFieldMatches('soup-?', 'soup-b', 22)).toBe(true);
    expect(hostFieldMatches('soup-?', 'soup-bb', 22)).toBe(false);
    expect(hostFieldMatches('*.internal,!db.internal', 'db.internal', 22)).toBe(false);
    expect(hostFieldMatches('*.internal,!db.internal', 'web.internal', 22)).toBe(true);
    expect(hostFieldMatches('[10.0.0.*]:2222', '10.0.0.7', 2222)).toBe(true);
    expect(hostFieldMatches('a.b', 'axb', 22)).toBe(false); // dots are literal
  });

  it('matches entries hashed by ssh-keygen -H', () => {
    const file = path.join(dir, 'hashed');
    fs.writeFileSync(
      file,
      `soup-a.internal ${k('ed').type} ${k('ed').base64}\n[127.0.0.1]:2222 ${k('ec').type} ${k('ec').base64}\n`,
    );
    execFileSync('ssh-keygen', ['-H', '-f', file], { stdio: 'ignore' });
    const lines = parseKnownHosts(fs.readFileSync(file, 'utf8'));
    expect(lines.every((l) => l.hosts.startsWith('|1|'))).toBe(true);
    expect(hostFieldMatches(lines[0]!.hosts, 'soup-a.internal', 22)).toBe(true);
    expect(hostFieldMatches(lines[0]!.hosts, 'soup-b.internal', 22)).toBe(false);
    expect(hostFieldMatches(lines[1]!.hosts, '127.0.0.1', 2222)).toBe(true);
    expect(hostFieldMatches(lines[1]!.hosts, '127.0.0.1', 22)).toBe(false);
    expect(hostFieldMatches('|1|bad', 'x', 22)).toBe(false);
  });
});

describe('verifyHostKey', () => {
  it('trusts a listed key, reports unknown hosts and changed keys', () => {
    const lines = parseKnownHosts(
      `[h]:2222 ${k('ed').type} ${k('ed').base64}\n[h]:2222 ${k('rsa').type} ${k('rsa').base64}\n`,
    );
    expect(verifyHostKey(lines, 'h', 2222, k('ed').blob)).toEqual({ status: 'trusted' });
    expect(verifyHostKey(lines, 'h', 2222, k('rsa').blob)).toEqual({ status: 'trusted' });
    expect(verifyHostKey(lines, 'other', 2222, k('ed').blob)).toEqual({ status: 'unknown' });
    expect(verifyHostKey(lines, 'h', 22, k('ed').blob)).toEqual({ status: 'unknown' });
    expect(verifyHostKey(lines, 'h', 2222, k('ed2').blob)).toEqual({
      status: 'changed',
      knownTypes: ['ssh-ed25519', 'ssh-rsa'],
    });
    expect(verifyHostKey([], 'h', 22, k('ed').blob)).toEqual({ status: 'unknown' });
  });

  it('refuses @revoked keys even when also listed, and never trusts @cert-authority keys', () => {
    const lines = parseKnownHosts(
      [
        `h ${k('ed').type} ${k('ed').base64}`,
        `@revoked * ${k('ed').type} ${k('ed').base64}`,
        `@cert-authority h ${k('ec').type} ${k('ec').base64}`,
      ].join('\n'),
    );
    expect(verifyHostKey(lines, 'h', 22, k('ed').blob)).toEqual({ status: 'revoked' });
    expect(verifyHostKey(lines, 'h', 22, k('ec').blob)).toEqual({
      status: 'changed',
      knownTypes: ['ssh-ed25519'],
    });
    expect(verifyHostKey(lines, 'g', 22, k('ec').blob)).toEqual({ status: 'unknown' });
  });

  it('lists the key types known for a host, for algorithm preference', () => {
    const lines = parseKnownHosts(
      `h ${k('ec').type} ${k('ec').base64}\nh,g ${k('rsa').type} ${k('rsa').base64}\n@revoked h ${k('ed').type} ${k('ed').base64}`,
    );
    expect(knownKeyTypes(lines, 'h', 22)).toEqual([k('ec').type, 'ssh-rsa']);
    expect(knownKeyTypes(lines, 'g', 22)).toEqual(['ssh-rsa']);
    expect(knownKeyTypes(lines, 'x', 22)).toEqual([]);
  });
});

describe('key helpers', () => {
  it('prints fingerprints exactly as ssh-keygen -l does', () => {
    for (const name of ['ed', 'ec', 'rsa']) expect(fingerprintSha256(k(name).blob)).toBe(k(name).fingerprint);
  });

  it('reads the key type from a blob', () => {
    expect(blobKeyType(k('ed').blob)).toBe('ssh-ed25519');
    expect(blobKeyType(k('rsa').blob)).toBe('ssh-rsa');
    expect(blobKeyType(Buffer.from([0, 0]))).toBe('');
    expect(blobKeyType(Buffer.from([0, 0, 0, 200, 1]))).toBe('');
  });
});
