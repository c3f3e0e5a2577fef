/**
 * A manifest file's bytes read by offset, in bounded pieces: from memory (bytes
 * this run made, or a small file read whole), or from a file opened once and
 * read by its descriptor (a 500,000-file manifest is ~70 MB: never held whole).
 *
 * An opened file is hostile input until checked: `checkOpened` hashes it in
 * chunks and compares size and SHA-256 with what the state names before any
 * of its bytes decide anything. Every later read is followed by an fstat of
 * the same descriptor: a file written to since the check (its size, mtime or
 * ctime moved) is refused, so every byte used is a byte that was hashed. A file
 * renamed over the path does not matter: the descriptor still reads the checked one.
 */
import { createHash } from 'node:crypto';
import { DiffshipError } from '../errors.js';
import type { OpenedFile } from '../transport/transport.js';

export interface ManifestSource {
  readonly size: number;
  /**
   * The bytes [from, to); `to` ≤ size. `into`: a scratch buffer they may be read into
   * (a view of it is returned; the next read there overwrites it).
   * @throws DiffshipError E_STATE when an opened file changed since its check.
   */
  read(from: number, to: number, into?: Buffer): Buffer;
  /** The whole file, when it is held in memory anyway. */
  readonly buffer?: Buffer;
  /** Read from a local copy of the target's file (OpenedFile.spooled): it holds room in TMPDIR. */
  readonly spooled?: boolean;
}

export const bufferSource = (data: Buffer): ManifestSource => ({
  size: data.length,
  buffer: data,
  read: (from, to) => data.subarray(from, to),
});

/** Bytes hashed at a time while checking an opened file. */
const HASH_CHUNK = 1 << 20;

/**
 * An opened manifest file as a source, once its size and SHA-256 are the ones
 * the state names; null when they are not (the caller says which, and closes it).
 */
export function checkOpened(
  file: OpenedFile,
  expected: { size: number; sha256: string },
  where: string,
): ManifestSource | null {
  if (file.size !== expected.size) return null;
  const hash = createHash('sha256');
  const source = openedSource(file, where);
  const scratch = Buffer.allocUnsafe(Math.min(file.size, HASH_CHUNK));
  for (let at = 0; at < file.size; at += HASH_CHUNK)
    hash.update(source.read(at, Math.min(file.size, at + HASH_CHUNK), scratch));
  return hash.digest('hex') === expected.sha256 ? source : null;
}

function openedSource(file: OpenedFile, where: string): ManifestSource {
  return {
    size: file.size,
    spooled: file.spooled === true,
    read(from, to, into) {
      const bytes = file.read(from, to - from, into);
      // After the read: a write during it shows too.
      if (bytes.length !== to - from || !file.unchanged())
        throw new DiffshipError(
          'E_STATE',
          `${where}: the manifest changed after it was checked against the state (size and SHA-256) — another process writes to the state folder; stop it and deploy again`,
        );
      return bytes;
    },
  };
}
