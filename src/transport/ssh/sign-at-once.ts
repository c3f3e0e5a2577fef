/**
 * Public-key authentication in one round trip with a key of our own.
 *
 * ssh2 first asks whether the host would take the key (a USERAUTH_REQUEST
 * without a signature, answered PK_OK) and signs only then: a round trip more
 * than OpenSSH, which signs at once with a private key it holds (the query is
 * for an agent's keys, whose signing has a cost of its own). Here a private
 * key's request goes signed the first time; the host answers it as it answers
 * a signed request after PK_OK (success, or failure and ssh2 tries on as after
 * a refused query). An agent's key, or a signature that fails (the SHA-1
 * refusal of sha1-policy.ts), goes ssh2's way, which reports it as before.
 */
import type { Client, ParsedKey } from 'ssh2';

/** The hash of a key algorithm's signature, as ssh2 (pinned) pairs them (client.js getKeyAlgos). */
const HASHES: Record<string, string> = {
  'rsa-sha2-256': 'sha256',
  'rsa-sha2-512': 'sha512',
  'ssh-rsa': 'sha1',
};

type Sign = (data: Buffer, done: (signature: Buffer) => void) => void;
type AuthPk = (this: unknown, username: string, key: unknown, keyAlgo?: unknown, cbSign?: Sign) => void;

/** From `client.connect()` on, its public-key requests with a private key are signed at once. */
export function signAtOnce(client: Client): void {
  // ssh2 (pinned) makes its protocol object in connect() and asks it for each request.
  const protocol = (client as unknown as { _protocol?: { authPK?: AuthPk } })._protocol;
  const authPK = protocol?.authPK;
  if (!protocol || typeof authPK !== 'function') return;
  protocol.authPK = function (username, key, keyAlgo, cbSign) {
    if (cbSign !== undefined || typeof keyAlgo === 'function' || !ownKey(key))
      return authPK.call(this, username, key, keyAlgo, cbSign);
    const hash = typeof keyAlgo === 'string' ? HASHES[keyAlgo] : undefined;
    return authPK.call(this, username, key, keyAlgo, (data, done) => {
      const signature = key.sign(data, hash);
      if (Buffer.isBuffer(signature)) done(signature);
      // Not signed (refused): asked first instead, as ssh2 does; it then signs again and says why it failed.
      else authPK.call(this, username, key, keyAlgo);
    });
  };
}

function ownKey(key: unknown): key is ParsedKey {
  const k = key as Partial<ParsedKey> | null;
  return typeof k?.isPrivateKey === 'function' && typeof k.sign === 'function' && k.isPrivateKey();
}
