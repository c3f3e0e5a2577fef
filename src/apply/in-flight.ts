import type { Transport } from '../transport/transport.js';

/** Over SSH: enough for any deploy's renames or backup links to go in one flight. */
const SSH_RECORDS = 1024;

/**
 * How many operations that hold no file bytes (lstat, link, rename) a pass keeps in flight.
 * Over SSH the file helper's records are pipelined, so a cap below the pass's count costs a
 * round trip for each cap's worth (a 100-file update spent two on its renames at 64); each
 * such record is a path, a few hundred bytes. Elsewhere the session's concurrency.
 */
export function metadataConcurrency(t: Transport, concurrency: number): number {
  return t.kind === 'ssh' ? Math.max(concurrency, SSH_RECORDS) : concurrency;
}

/**
 * Paths in one keepMany or removeMany (the transport's many-path calls: over SSH one record of
 * ~2,048 × 40 bytes), and how many such calls go at once: the host runs them in order, this
 * side prepares the next.
 */
export const MANY_PATHS = 2048;
export const MANY_IN_FLIGHT = 4;
