/**
 * What one flush of the file helper's outbox writes onto its channel. Records are small and
 * many share one write (each channel write is at least one SSH packet to encrypt and send), so
 * runs of small pieces are copied into one buffer; a big piece (a bulk write's files, read back
 * to back into one buffer: stage-bulk.ts) goes as it is, since ssh2 copies every byte into its
 * packets anyway: copying it here too made one more copy of every byte staged (~400 MB of
 * buffers at a 100,000-file first deploy). Pure.
 */

/** Pieces at least this big are written as they are. */
export const AS_IS_BYTES = 64 * 1024;

/**
 * `pieces` in order as fewer buffers: views that follow each other in one ArrayBuffer joined
 * into one view (no copy), runs of small pieces concatenated, big ones as they are.
 */
export function outboxChunks(pieces: readonly Buffer[]): Buffer[] {
  const out: Buffer[] = [];
  let small: Buffer[] = [];
  let smallBytes = 0;
  const endSmall = (): void => {
    if (small.length === 1) out.push(small[0]!);
    else if (small.length > 1) out.push(Buffer.concat(small, smallBytes));
    small = [];
    smallBytes = 0;
  };
  const take = (piece: Buffer): void => {
    if (piece.length >= AS_IS_BYTES) {
      endSmall();
      out.push(piece);
    } else {
      small.push(piece);
      smallBytes += piece.length;
    }
  };
  let joined: Buffer | null = null;
  for (const piece of pieces) {
    if (piece.length === 0) continue;
    if (joined && piece.buffer === joined.buffer && piece.byteOffset === joined.byteOffset + joined.length) {
      joined = Buffer.from(joined.buffer, joined.byteOffset, joined.length + piece.length);
      continue;
    }
    if (joined) take(joined);
    joined = piece;
  }
  if (joined) take(joined);
  endSmall();
  return out;
}
