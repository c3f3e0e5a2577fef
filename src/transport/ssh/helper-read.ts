import type { SshConnection } from './connection.js';
import { HelperGone, type SshOps } from './perl-helper-client.js';
import { OP_READ, readCount } from './read-protocol.js';

/**
 * `rel` read whole through the file helper (op 16, read-protocol.ts); undefined where the
 * helper does not run (or ended before answering): the caller reads over SFTP then.
 * @throws the host's refusal, or an answer that is not the file's bytes, naming the path
 */
export async function readWithHelper(
  conn: SshConnection,
  ops: SshOps,
  rel: string,
): Promise<Buffer | undefined> {
  const helper = await ops.channel().catch(() => null);
  if (!helper) return undefined;
  const parts: Buffer[] = [];
  let bad: string | null = null;
  const onPart = (_payload: string, bytes?: Buffer) => {
    if (bytes) parts.push(bytes);
    else bad ??= 'a part is a line, not bytes';
  };
  const answer = await ops.run(helper, OP_READ, rel, { onPart }).catch((error: unknown) => {
    if (error instanceof HelperGone) return undefined;
    throw conn.fail('read', rel, error);
  });
  if (answer === undefined) return undefined;
  const data = Buffer.concat(parts);
  const count = readCount(answer);
  if (bad === null && count !== data.length)
    bad = `it announced ${JSON.stringify(answer.slice(0, 20))} bytes and sent ${data.length}`;
  if (bad !== null) throw conn.fail('read', rel, new Error(`the host's answer is not the file: ${bad}`));
  return data;
}
