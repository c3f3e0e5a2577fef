/**
 * A manifest file's text after its header, decoded a chunk at a time (the
 * file is never one string: 60 MB at 500,000 files). Shared by the cursor the
 * local look reads (manifest-lines.ts) and the SSH look's line reader
 * (observe/manifest-lines.ts).
 */
import { MANIFEST_HEADER, stateError } from './manifest-text.js';

const NL = 0x0a;
/** Bytes decoded at a time. */
const CHUNK = 1 << 20;

/**
 * Each chunk is whole lines without the last one's newline, so no line (and no
 * UTF-8 sequence) is cut in two; the header and the file's final newline are
 * checked before the first chunk.
 * @throws DiffshipError E_STATE naming `where` when the header is not ours or the file is cut short
 */
export function* manifestChunks(data: Buffer, where: string): Generator<string, undefined> {
  const header = `${MANIFEST_HEADER}\n`;
  if (data.toString('utf8', 0, header.length) !== header)
    throw stateError(where, `does not start with "${MANIFEST_HEADER}"`);
  if (data[data.length - 1] !== NL) throw stateError(where, 'is cut short (no newline at its end)');
  for (let start = header.length; start < data.length;) {
    const cut = start + CHUNK >= data.length ? data.length - 1 : data.lastIndexOf(NL, start + CHUNK);
    const end = cut < start ? data.indexOf(NL, start) : cut;
    yield data.toString('utf8', start, end);
    start = end + 1;
  }
  return undefined;
}
