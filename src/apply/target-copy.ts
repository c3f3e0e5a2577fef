/**
 * A file copied within a target (a backup taken where a hard link cannot be, a
 * backed-up file restored, a unit's kept file). The file may be of any size and
 * is never whole in memory: over SSH the file helper copies it on the host (the
 * bytes never cross the network; without the helper, a few SFTP requests at a
 * time); locally the bytes stream through a bounded buffer.
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
  if (t.copyFile) return t.copyFile(from, to, mode, options);
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
