/**
 * A manifest file's text after its header, decoded a chunk at a time (the
 * file is never one string: 60 MB at 500,000 files, nor one buffer when it is
 * read from its file: manifest-source.ts). Shared by the cursor the local look
 * reads (manifest-lines.ts) and the SSH look's line reader
 * (observe/manifest-lines.ts).
 */
import { MANIFEST_HEADER, stateError } from './manifest-text.js';
import type { ManifestSource } from './manifest-source.js';

const NL = 0x0a;
/**
 * Bytes decoded at a time. Below V8's large-object size (128 KiB), so each chunk's string is
 * young garbage: 1 MiB chunks went to the large-object space, counted as old, and the ~70 MB
 * read per 500,000-file authoritative update set off the CLI's paced full collections
 * (gc-pacer.ts) 7 times a deploy instead of once.
 */
const CHUNK = 1 << 16;

/**
 * Each chunk is whole lines without the last one's newline, so no line (and no
 * UTF-8 sequence) is cut in two; the header and the file's final newline are
 * checked before the first chunk.
 * @throws DiffshipError E_STATE naming `where` when the header is not ours or the file is cut short
 */
export function* manifestChunks(src: ManifestSource, where: string): Generator<string, undefined> {
  for (const bytes of manifestWindows(src, where)) yield bytes.toString('utf8');
  return undefined;
}

/**
 * manifestChunks' chunks as bytes, for a reader that decodes only the lines it needs
 * (manifest-lines.ts). Each is a view that the next one may overwrite.
 */
export function* manifestWindows(src: ManifestSource, where: string): Generator<Buffer, undefined> {
  const header = `${MANIFEST_HEADER}\n`;
  const size = src.size;
  if (src.read(0, Math.min(size, header.length)).toString('utf8') !== header)
    throw stateError(where, `does not start with "${MANIFEST_HEADER}"`);
  if (src.read(size - 1, size)[0] !== NL) throw stateError(where, 'is cut short (no newline at its end)');
  // Read into one scratch buffer (used before the next is read): no 1 MiB of garbage per chunk.
  let scratch = src.buffer ? undefined : Buffer.allocUnsafe(Math.min(size, CHUNK));
  for (let start = header.length; start < size;) {
    // A window of whole lines: widened until it holds a newline (a line longer than CHUNK).
    let window = CHUNK;
    let bytes = src.read(start, Math.min(size, start + window), scratch);
    let cut = bytes.lastIndexOf(NL);
    while (cut < 0) {
      window *= 2;
      if (scratch) scratch = Buffer.allocUnsafe(Math.min(size - start, window));
      bytes = src.read(start, Math.min(size, start + window), scratch);
      cut = bytes.lastIndexOf(NL);
    }
    yield bytes.subarray(0, cut);
    start += cut + 1;
  }
  return undefined;
}
