import { createHash } from 'node:crypto';

/**
 * The hash behind a repository's object ids: `sha1` (git's default, 40 hex
 * digits) or `sha256` (`git init --object-format=sha256`, 64 hex digits).
 */
export type HashAlgorithm = 'sha1' | 'sha256';

/**
 * git's blob id of some bytes: `<algorithm>("blob <size>\0" + bytes)`. Same as
 * `git hash-object` in a repository of that object format.
 *
 * @param algorithm `sha1` (default) or `sha256`: the repository's object format, which any of its
 *   ids tells (40 hex digits are sha1, 64 are sha256; see `hashAlgorithmOf`).
 */
export function gitBlobId(data: Uint8Array, algorithm: HashAlgorithm = 'sha1'): string {
  return createHash(algorithm).update(`blob ${data.byteLength}\0`).update(data).digest('hex');
}

/** The algorithm of a git object id, by its length: 64 hex digits are sha256, anything else sha1. */
export function hashAlgorithmOf(id: string): HashAlgorithm {
  return id.length === 64 ? 'sha256' : 'sha1';
}

/** Hex digits in an id of that algorithm. */
export function idLength(algorithm: HashAlgorithm): number {
  return algorithm === 'sha256' ? 64 : 40;
}
