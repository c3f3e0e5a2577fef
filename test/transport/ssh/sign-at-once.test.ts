/**
 * sign-at-once.ts: a private key's public-key request goes signed the first time (no query
 * answered by PK_OK first: one round trip less), a key the host does not know still fails as
 * before, and an unpatched client still asks first (what the count is checked against).
 * Against a real OpenSSH sshd on loopback; ssh2's own debug lines tell what went out and came in.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from 'ssh2';
import { signAtOnce } from '../../../src/transport/ssh/sign-at-once.js';
import { startSshd, type Sshd } from '../../helpers/sshd.js';

let sshd: Sshd;
let keyDir: string;

beforeAll(async () => {
  sshd = await startSshd();
  keyDir = mkdtempSync(join(tmpdir(), 'diffship-sign-'));
});
afterAll(async () => {
  await sshd?.stop();
  rmSync(keyDir, { recursive: true, force: true });
});

/** Connect with `key` (and `passphrase`); resolves to ssh2's debug lines and how it ended. */
function connect(
  key: string,
  { patched, passphrase }: { patched: boolean; passphrase?: string },
): Promise<{ lines: string[]; error: Error | null }> {
  const lines: string[] = [];
  return new Promise((resolve) => {
    const client = new Client();
    client
      .on('ready', () => {
        client.end();
        resolve({ lines, error: null });
      })
      .on('error', (error) => resolve({ lines, error }));
    client.connect({
      host: sshd.host,
      port: sshd.port,
      username: sshd.user,
      privateKey: key,
      passphrase,
      debug: (line) => lines.push(line),
    });
    if (patched) signAtOnce(client);
  });
}

const asked = (lines: string[]) => lines.filter((l) => l.includes('publickey -- check')).length;
const pkOk = (lines: string[]) => lines.filter((l) => /USERAUTH_PK_OK/.test(l)).length;
const signed = (lines: string[]) =>
  lines.filter((l) => l.includes('Sending USERAUTH_REQUEST (publickey)')).length;

describe('public-key authentication signed at once', () => {
  it('a private key: one signed request, no query, no PK_OK; unpatched ssh2 asks first', async () => {
    const before = await connect(sshd.privateKey, { patched: false });
    expect(before.error).toBeNull();
    expect(asked(before.lines)).toBe(1);
    expect(pkOk(before.lines)).toBe(1);

    const after = await connect(sshd.privateKey, { patched: true });
    expect(after.error).toBeNull();
    expect(asked(after.lines)).toBe(0);
    expect(pkOk(after.lines)).toBe(0);
    expect(signed(after.lines)).toBe(1);
  });

  it('an encrypted key with its passphrase is signed at once too', async () => {
    const r = await connect(sshd.encryptedPrivateKey, { patched: true, passphrase: sshd.passphrase });
    expect(r.error).toBeNull();
    expect(asked(r.lines)).toBe(0);
    expect(signed(r.lines)).toBe(1);
  });

  it('a key the host does not know is refused, as before', async () => {
    const file = join(keyDir, 'stranger');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', file]);
    const r = await connect(readFileSync(file, 'utf8'), { patched: true });
    expect(r.error?.message).toMatch(/authentication methods failed/);
    expect(signed(r.lines)).toBe(1);
  });
});
