/**
 * A file copied within a target (a backup taken where a hard link cannot be, a
 * backed-up file restored). Where the transport opens files to read by offset
 * (local), the bytes stream through a bounded buffer: the file may be of any
 * size and is never whole in memory. Elsewhere (SSH) it is read whole and
 * written whole, as before.
 */
import type { ByteSource, Transport, WriteOptions } from '../transport/transport.js';

/** Bytes per read of a streamed copy. */
const CHUNK = 1024 * 1024;

/** `from` (never through a link) written to `to` with exactly `mode`, as writeFile writes. */
export async function copyOnTarget(
  t: Transport,
  from: string,
  to: string,
  mode: number,
  options?: WriteOptions,
): Promise<void> {
  if (!t.openRead || !t.writeStream) return t.writeFile(to, await t.readFile(from), mode, options);
  const file = await t.openRead(from);
  try {
    const source: ByteSource = {
      size: file.size,
      async *[Symbol.asyncIterator]() {
        // A file cut short meanwhile gives fewer bytes than its size: the writer refuses that.
        for (let at = 0; at < file.size;) {
          const chunk = file.read(at, Math.min(CHUNK, file.size - at));
          if (chunk.length === 0) return;
          at += chunk.length;
          yield chunk;
        }
      },
    };
    await t.writeStream(to, source, mode, options);
  } finally {
    file.close();
  }
}
