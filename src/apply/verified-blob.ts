/**
 * A blob on its way from git to a target, hashed as it streams: the bytes
 * handed to the transport are checked against the blob id the release names
 * before the transport sees the end of them, so a read that went wrong fails
 * the write and never reaches the journal. (The staged copy is hashed again on
 * the target, by the SSH file helper as it writes it or by hashFiles afterwards:
 * that check covers the target's disk and connection. Where the writer hashes
 * the bytes as it writes them, the check here is left out: the writer's id,
 * compared with the expected one, covers the repository's reading as well.)
 */
import { createHash, type Hash } from 'node:crypto';
import { TransportError } from '../errors.js';
import type { HashAlgorithm } from '../diff/blob.js';
import type { ByteSource } from '../transport/transport.js';

export function verifiedBlob(
  source: ByteSource,
  expected: string,
  algorithm: HashAlgorithm,
  what: string,
): ByteSource {
  let elsewhere = false;
  return {
    size: source.size,
    // The writer's blob id of what it wrote is compared with `expected` (stage.ts): one hash pass, not two.
    hashedByWriter: (yes: boolean) => (elsewhere = yes),
    whole() {
      const bytes = source.whole?.();
      if (bytes && !elsewhere)
        check(createHash(algorithm).update(`blob ${bytes.length}\0`).update(bytes), bytes.length);
      return bytes;
    },
    async *[Symbol.asyncIterator]() {
      if (elsewhere) return yield* source;
      const hash = createHash(algorithm).update(`blob ${source.size}\0`);
      let bytes = 0;
      for await (const chunk of source) {
        hash.update(chunk);
        bytes += chunk.length;
        yield chunk;
      }
      check(hash, bytes);
    },
  };

  function check(hash: Hash, bytes: number): void {
    const got = bytes === source.size ? hash.digest('hex') : `${bytes} of ${source.size} bytes`;
    if (got !== expected)
      throw new TransportError(
        'E_VERIFY',
        `${what}: the bytes read from the repository for blob ${expected} hash to ${got}; the repository or its reading is corrupt, nothing was changed (check it with git fsck)`,
      );
  }
}
