/**
 * SshFiles.writeStream's work: a file written from a source read as it goes,
 * through the file helper (one record, its data poured onto the channel:
 * perl-helper-stream.ts) or, where the helper does not run, SFTP (pipelined
 * writes: sftp.ts `pourAndClose`). Only a few chunks are ever in memory.
 */
import { CheckedSource } from '../byte-source.js';
import { checkRelPath, joinRoot } from '../rel-path.js';
import type { ByteSource, WriteOptions } from '../transport.js';
import type { SshConnection } from './connection.js';
import { HelperGone, type SshOps } from './perl-helper-client.js';
import { HASH_FLAG, SHA256_FLAG, SYNC_FLAG } from './perl-helper-protocol.js';
import { streamWrite } from './perl-helper-stream.js';
import { pourAndClose } from './sftp.js';
import { collectingAsItStreams } from '../collect-as-it-streams.js';

/**
 * Sources up to this size are gathered and sent as one writeFile: one record among many in a
 * write of the helper's channel, or two SFTP round trips, as small files always were.
 */
export const GATHER_MAX = 256 * 1024;

/** The bytes of a small source, in one buffer; the source's own failure as it was thrown. */
export async function gather(source: ByteSource): Promise<Buffer> {
  const whole = source.whole?.();
  if (whole) {
    if (whole.length !== source.size)
      throw new Error(`the source gave ${whole.length} bytes where it announced ${source.size}`);
    return whole;
  }
  const checked = new CheckedSource(source);
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of checked) chunks.push(chunk);
  } catch (error) {
    throw checked.blame(error);
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
}

export interface StreamTarget {
  rel: string;
  mode: number;
  /** `sync: false`: no fsync here, the caller's syncWritten() does it. */
  options: WriteOptions;
  /** Open the remote path over SFTP as a new file, no link on its path (SshFiles.openNew). */
  open(p: string): Promise<Buffer>;
}

/** Where the file went, and (asked with `options.hash`, written by the helper) the blob id of the bytes written. */
export interface Streamed {
  path: string;
  blob?: string;
}

/** Write the file. */
export async function streamFile(
  conn: SshConnection,
  client: SshOps,
  target: StreamTarget,
  source: ByteSource,
): Promise<Streamed> {
  const { rel, mode } = target;
  const p = joinRoot(conn.base, checkRelPath(rel));
  const sync = target.options.sync !== false;
  const hash = target.options.hash;
  const checked = new CheckedSource(source);
  // A big file: its buffers freed as it goes (collect-as-it-streams.ts).
  const bytes = collectingAsItStreams(checked);
  try {
    const ops = await client.channel();
    if (ops) {
      const flags = (mode & 0o7777) | (sync ? SYNC_FLAG : 0) | hashFlags(hash);
      source.hashedByWriter?.(hash !== undefined);
      const answer = await streamWrite(conn, client, ops, rel, flags, bytes).then(
        (payload) => ({ payload }),
        (error: unknown) => {
          // Gone before a byte was taken: send it over SFTP instead.
          if (error instanceof HelperGone && checked.taken === 0) return null;
          throw error;
        },
      );
      if (answer) return { path: p, blob: hash ? blobIdOf(answer.payload, hash) : undefined };
    }
    // Over SFTP nothing hashes on the host: the caller checks the file (hashFiles) afterwards.
    source.hashedByWriter?.(false);
    await pourAndClose(conn, await target.open(p), bytes, mode, sync);
    return { path: p };
  } catch (error) {
    throw checked.blame(conn.fail('write', rel, error));
  }
}

/** A write record's mode bits that ask the helper to hash the data as it writes it (none: no hash). */
export function hashFlags(hash: 'sha1' | 'sha256' | undefined): number {
  return (hash ? HASH_FLAG : 0) | (hash === 'sha256' ? SHA256_FLAG : 0);
}

/** The helper's blob id, if it is one (anything else: no id, and the caller hashes the file instead). */
export function blobIdOf(payload: string, algorithm: 'sha1' | 'sha256'): string | undefined {
  return (algorithm === 'sha256' ? SHA256_ID : SHA1_ID).test(payload) ? payload : undefined;
}
const SHA1_ID = /^[0-9a-f]{40}$/;
const SHA256_ID = /^[0-9a-f]{64}$/;
