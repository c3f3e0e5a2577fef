/**
 * ssh2's ciphers as key objects, not key bytes.
 *
 * Without its optional native addon (not built by a plain install, and never in
 * the Action's one-file bundle), ssh2 encrypts each packet with a new
 * `createCipheriv` (AES-GCM, ChaCha20) given the key as bytes. Node 24 makes a
 * key object out of those bytes on every call, by way of a thrown and caught
 * error: ~50 µs a packet, 0.3 s of a 200 MiB file's 6,400 packets (Node 20:
 * ~10 µs). Given a KeyObject it skips that. Each new key (the first handshake
 * and every rekey) is turned into a KeyObject once.
 */
import { createSecretKey } from 'node:crypto';
import type { Client } from 'ssh2';

/** Where ssh2 (pinned) keeps the keys it hands to createCipheriv/createDecipheriv, per cipher class. */
const KEY_FIELDS = [
  '_encKey',
  '_encKeyMain',
  '_encKeyPktLen',
  '_decipherKey',
  '_decKeyMain',
  '_decKeyPktLen',
];

type Keyed = Record<string, unknown>;

/** From every handshake on, `client`'s cipher and decipher hold their keys as KeyObjects. */
export function cipherKeysAsObjects(client: Client): void {
  client.on('handshake', () => {
    // ssh2 (pinned) sets the new cipher and decipher before it tells of the handshake.
    const protocol = (client as unknown as { _protocol?: { _cipher?: Keyed; _decipher?: Keyed } })._protocol;
    asKeyObjects(protocol?._cipher);
    asKeyObjects(protocol?._decipher);
  });
}

/** Replace each key held as bytes with a KeyObject of the same bytes. */
function asKeyObjects(cipher: Keyed | undefined): void {
  if (!cipher || typeof cipher !== 'object') return;
  for (const field of KEY_FIELDS) {
    const key = cipher[field];
    if (Buffer.isBuffer(key) && key.length > 0) cipher[field] = createSecretKey(key);
  }
}
