/**
 * A target's file copied through the file helper's read (op 16, read-protocol.ts) into a local
 * spool file (spool-file.ts), then read by offset from there: a big file (an SSH target's
 * manifest) costs one frame's buffer here, not its size. The bytes are the host's answer, as
 * readWithHelper takes them, with the same checks (limit, count); what they are worth is for
 * the caller to check (the manifest's size and SHA-256 against the state, manifest-source.ts).
 */
import type { SshConnection } from './connection.js';
import { HelperGone, type SshOps } from './perl-helper-client.js';
import { OP_READ } from './read-protocol.js';
import { checkReadAnswer, refusedRead } from './helper-read.js';
import { NO_LIMIT, TooBig } from '../read-bound.js';
import { createSpool, type SpoolFile } from '../local/spool-file.js';
import { TransportError } from '../../errors.js';
import os from 'node:os';
import type { OpenedFile } from '../transport.js';
import { youngCollector } from '../collect-as-it-streams.js';

/**
 * Bytes spooled between two young-generation collections: each costs well under a millisecond,
 * and what piles up between two is ~3× this (each frame's packets, deciphered, then copied).
 */
const SPOOL_COLLECT_EVERY = 1 << 20;

/**
 * `rel` copied whole through the helper into a spool, opened to read by offset; undefined where
 * the helper does not run (or ended before answering): the caller reads otherwise then. At most
 * `limit` bytes are taken, as readWithHelper takes them.
 * @throws the host's refusal, TooBig, an answer that is not the file's bytes, or the local
 * system's error writing the spool, naming the path
 */
export async function spoolWithHelper(
  conn: SshConnection,
  ops: SshOps,
  rel: string,
  limit = NO_LIMIT,
): Promise<OpenedFile | undefined> {
  const helper = await ops.channel().catch(() => null);
  if (!helper) return undefined;
  let spool: SpoolFile;
  try {
    spool = createSpool();
  } catch (error) {
    throw spoolFailed(conn, rel, error);
  }
  let over = false;
  let failed: unknown = null;
  let bad: string | null = null;
  // The packets the frames came in are garbage once written: freed as they go, not left to pile
  // up outside the heap until V8's limit for it (~20 MB of them reading a 13.6 MB manifest).
  const collect = youngCollector(SPOOL_COLLECT_EVERY);
  // Each frame is written out as it completes (the parser's scratch buffer is used again next).
  const take = (bytes: Buffer) => {
    if (over || failed !== null) return;
    if (spool.size + bytes.length > limit) return void (over = true);
    try {
      spool.append(bytes);
    } catch (error) {
      failed = error;
    }
    collect(bytes.length);
  };
  try {
    const answer = await ops
      .run(helper, OP_READ, rel, {
        mode: Math.min(limit, NO_LIMIT),
        onSized: () => take,
        // Frames before a size line (none from this helper) still count, in order.
        onPart: (_payload, bytes) => (bytes ? take(bytes) : (bad ??= 'a part is a line, not bytes')),
      })
      .catch((error: unknown) => refusedRead(error, limit));
    if (over) throw new TooBig(null, limit);
    if (failed !== null) throw spoolFailed(conn, rel, failed);
    checkReadAnswer(answer, spool.size, bad);
    return spool.finish();
  } catch (error) {
    spool.discard();
    if (error instanceof HelperGone) return undefined;
    throw conn.fail('read', rel, error);
  }
}

/** This machine could not keep the copy: its temporary folder named, and the fix. */
function spoolFailed(conn: SshConnection, rel: string, error: unknown): TransportError {
  return new TransportError(
    'E_TRANSPORT',
    `${conn.description}: cannot read ${JSON.stringify(rel)}: cannot keep a copy of it in this machine's temporary folder ${os.tmpdir()} (${conn.why(error)}) — make room there, or set TMPDIR to a writable folder with room`,
    { cause: conn.safeCause(error) },
  );
}
