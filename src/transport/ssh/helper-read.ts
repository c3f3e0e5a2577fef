import type { SshConnection } from './connection.js';
import { HelperGone, OpError, type OpsChannel, type SshOps } from './perl-helper-client.js';
import { OP_READ, readCount } from './read-protocol.js';
import { NO_LIMIT, TooBig } from '../read-bound.js';

/**
 * `rel` read whole through the file helper (op 16, read-protocol.ts); undefined where the
 * helper does not run (or ended before answering): the caller reads over SFTP then. At most
 * `limit` bytes are taken: the helper refuses a bigger file, and what a host sends past the
 * limit anyway is dropped, not held, before the read fails.
 * @throws the host's refusal, or an answer that is not the file's bytes, naming the path
 */
export async function readWithHelper(
  conn: SshConnection,
  ops: SshOps,
  rel: string,
  limit = NO_LIMIT,
): Promise<Buffer | undefined> {
  const helper = await ops.channel().catch(() => null);
  if (!helper) return undefined;
  try {
    return await readOn(ops, helper, rel, limit);
  } catch (error) {
    if (error instanceof HelperGone) return undefined;
    throw conn.fail('read', rel, error);
  }
}

/**
 * readWithHelper on a channel already had, its errors as they are: the host's refusal
 * (OpError), TooBig, HelperGone, or an Error saying how the answer is not the file.
 */
export async function readOn(ops: SshOps, helper: OpsChannel, rel: string, limit: number): Promise<Buffer> {
  // The file's frames land back to back in one buffer of the size the host announced (within the
  // limit): no buffer per frame, no join at the end. Anything else (no size, a file that grew
  // since) goes to `parts`, joined at the end, as before.
  let whole: Buffer | null = null;
  const onSized = (size: number): Buffer | undefined =>
    size <= limit && got === 0 ? (whole = Buffer.allocUnsafe(size)) : undefined;
  const parts: Buffer[] = [];
  let got = 0;
  let bad: string | null = null;
  let over = false;
  const onPart = (_payload: string, bytes?: Buffer) => {
    if (!bytes) return void (bad ??= 'a part is a line, not bytes');
    const at = got;
    if ((got += bytes.length) > limit) return void (over = true);
    // In place: a view of `whole` where the next bytes go (a frame past its end is another buffer,
    // even one that Node's pool happens to put right after it).
    const inPlace =
      whole !== null &&
      got <= whole.length &&
      bytes.buffer === whole.buffer &&
      bytes.byteOffset === whole.byteOffset + at;
    if (inPlace) return;
    if (whole) parts.push(whole.subarray(0, at));
    whole = null;
    parts.push(bytes);
  };
  const mode = Math.min(limit, NO_LIMIT);
  const answer = await ops
    .run(helper, OP_READ, rel, { mode, onPart, onSized })
    .catch((error: unknown) => refusedRead(error, limit));
  if (over) throw new TooBig(null, limit);
  const data = whole ? (whole as Buffer).subarray(0, got) : Buffer.concat(parts);
  checkReadAnswer(answer, data.length, bad);
  return data;
}

/** A read's refusal as thrown to its caller: the helper's EFBIG as TooBig, any other as it is. */
export function refusedRead(error: unknown, limit: number): never {
  if (!(error instanceof OpError) || error.errno !== 'EFBIG') throw error;
  // Refused from its size (the answer's text) or as it grew past the limit.
  throw new TooBig(/^\d{1,16}$/.test(error.text) ? Number(error.text) : null, limit);
}

/**
 * @throws an Error saying how the answer is not the file: `bad` (what was wrong with a part),
 * or a count other than the `sent` bytes taken
 */
export function checkReadAnswer(answer: string, sent: number, bad: string | null): void {
  if (bad === null && readCount(answer) !== sent)
    bad = `it announced ${JSON.stringify(answer.slice(0, 20))} bytes and sent ${sent}`;
  if (bad !== null) throw new Error(`the host's answer is not the file: ${bad}`);
}
