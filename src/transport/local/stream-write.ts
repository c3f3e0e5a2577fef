// A file written from a ByteSource as its chunks arrive (never whole in memory), never through
// a link at the last component (O_NOFOLLOW). Small files take writeFileNoFollow's synchronous path.
//
// Asked for `hash`, the writer hashes exactly the bytes it handed to write(2) and returns their
// blob id: the caller compares it with the release's, instead of reading the file back. A read
// right after the write comes from the page cache, so on a local disk it would only check the
// memory the bytes were just written from (and cost an open, a read and a close per file).
import { constants } from 'node:fs';
import * as fs from 'node:fs/promises';
import { createHash } from 'node:crypto';
import type { HashAlgorithm } from '../../diff/blob.js';
import type { ByteSource, WriteOptions } from '../transport.js';
import { SYNC_MAX_BYTES, writeFileNoFollow } from './small-file-io.js';

const { O_WRONLY, O_CREAT, O_TRUNC, O_NOFOLLOW } = constants;

/**
 * Write `source` to `p` with exactly `mode`; fsynced unless `options.sync` is false, when `p`
 * is added to `unsynced` for a later `syncWritten()`. A failed source leaves a partial file.
 * Resolves to the written bytes' blob id when `options.hash` names an algorithm.
 */
export async function writeStreamNoFollow(
  p: string,
  source: ByteSource,
  mode: number,
  options: WriteOptions,
  unsynced: { add(p: string): void },
): Promise<string | undefined> {
  const hash = options.hash ? blobHash(options.hash, source.size) : null;
  if (source.size <= SYNC_MAX_BYTES) {
    // At most SYNC_MAX_BYTES: the bytes at once where the source holds them (a small blob: no
    // iterator chain per file), else gather the chunk or two; then one synchronous write.
    let data = source.whole?.();
    if (data === undefined) {
      const chunks: Buffer[] = [];
      for await (const chunk of source) chunks.push(chunk);
      data = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
    }
    await writeFileNoFollow(p, data, mode, options, unsynced);
    return hash?.update(data).digest('hex');
  }
  const handle = await fs.open(p, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, mode & 0o7777);
  try {
    let at = 0;
    for await (const chunk of source) {
      for (let done = 0; done < chunk.length;) {
        const { bytesWritten } = await handle.write(chunk, done, chunk.length - done, at);
        done += bytesWritten;
        at += bytesWritten;
      }
      hash?.update(chunk);
    }
    // The umask trimmed the mode given to open(); set it exactly.
    await handle.chmod(mode & 0o7777);
    if (options.sync === false) unsynced.add(p);
    else await handle.sync();
  } finally {
    await handle.close();
  }
  return hash?.digest('hex');
}

/** A git blob hash started with its header (`blob <size>\0`). */
function blobHash(algorithm: HashAlgorithm, size: number) {
  return createHash(algorithm).update(`blob ${size}\0`);
}
