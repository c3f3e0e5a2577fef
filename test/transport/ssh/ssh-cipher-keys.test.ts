/**
 * cipher-keys.ts: ssh2's per-packet ciphers get their keys as KeyObjects after
 * the handshake and after every rekey (the host asks for one every MiB here:
 * RekeyLimit), and the connection still carries bytes exactly, for each cipher
 * that makes a cipher per packet (AES-GCM, ChaCha20) and one that does not
 * (AES-CTR). Against a real OpenSSH sshd on loopback.
 */
import { KeyObject } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, type ClientChannel } from 'ssh2';
import { cipherKeysAsObjects } from '../../../src/transport/ssh/cipher-keys.js';
import { startSshd, type Sshd } from '../../helpers/sshd.js';
import { noise } from '../conformance.js';

let sshd: Sshd;

beforeAll(async () => {
  sshd = await startSshd({ config: ['RekeyLimit 1M'] });
});
afterAll(async () => {
  await sshd?.stop();
});

type Keyed = Record<string, unknown>;
const protocolOf = (c: Client) =>
  (c as unknown as { _protocol: { _cipher: Keyed; _decipher: Keyed } })._protocol;

/** The key fields a cipher object holds, by kind: KeyObject, bytes, or other. */
function keyKinds(cipher: Keyed): string[] {
  return Object.keys(cipher)
    .filter((k) => /Key(Main|PktLen)?$/.test(k) && k !== '_macKey')
    .map(
      (k) =>
        `${k}:${cipher[k] instanceof KeyObject ? 'KeyObject' : Buffer.isBuffer(cipher[k]) ? 'bytes' : 'other'}`,
    );
}

/** A connection with only `cipher`, counting its handshakes (the first one and each rekey). */
function connect(cipher: string): Promise<{ client: Client; handshakes: () => number }> {
  return new Promise((resolve, reject) => {
    const client = new Client();
    cipherKeysAsObjects(client);
    let handshakes = 0;
    client.on('handshake', () => handshakes++);
    client.on('ready', () => resolve({ client, handshakes: () => handshakes })).on('error', reject);
    client.connect({
      host: sshd.host,
      port: sshd.port,
      username: sshd.user,
      privateKey: sshd.privateKey,
      algorithms: { cipher: [cipher as never] },
    });
  });
}

/** `data` through `cat` on the host and back. */
function echo(client: Client, data: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    client.exec('cat', (error: Error | undefined, channel: ClientChannel) => {
      if (error) return reject(error);
      const got: Buffer[] = [];
      channel.on('data', (d: Buffer) => got.push(d)).on('close', () => resolve(Buffer.concat(got)));
      channel.end(data);
    });
  });
}

describe('ssh2 cipher keys as KeyObjects', () => {
  for (const cipher of ['aes128-gcm@openssh.com', 'chacha20-poly1305@openssh.com', 'aes128-ctr']) {
    it(`${cipher}: no per-packet key left as bytes, after rekeys too, and bytes arrive exactly`, async () => {
      const { client, handshakes } = await connect(cipher);
      try {
        const data = noise(3 * 1024 * 1024 + 11, 5);
        for (const round of ['first handshake', 'after rekeys']) {
          const { _cipher, _decipher } = protocolOf(client);
          const kinds = [...keyKinds(_cipher), ...keyKinds(_decipher)];
          if (cipher === 'aes128-ctr')
            expect(kinds, round).toEqual([]); // one long-lived cipher: nothing to change
          else {
            expect(kinds.length, round).toBeGreaterThanOrEqual(2);
            for (const kind of kinds) expect(kind, round).toMatch(/:KeyObject$/);
          }
          expect((await echo(client, data)).equals(data)).toBe(true);
        }
        // 6 MiB each way past a 1 MiB RekeyLimit: the keys checked above were those of later handshakes.
        expect(handshakes()).toBeGreaterThanOrEqual(3);
      } finally {
        client.end();
      }
    });
  }
});
