import type { SshConnection } from './connection.js';
import { HelperGone, type SshOps } from './perl-helper-client.js';
import type { Op } from './perl-helper-protocol.js';
import { OP_READLINK, parseReadlink } from './shell-ops-protocol.js';

/** rmdir, symlink, readlink and chmod through the file helper (ops 22–25, shell-ops-protocol.ts). */

/**
 * Run one of these ops; undefined where the helper does not run (or ended before answering):
 * the caller then does it over SFTP. The host's refusal is thrown, naming `name` and the path.
 */
export async function runSmallOp(
  conn: SshConnection,
  ops: SshOps,
  name: string,
  op: Op,
  rel: string,
  options: { to?: string; mode?: number } = {},
): Promise<string | undefined> {
  const helper = await ops.channel().catch(() => null);
  if (!helper) return undefined;
  const answer = await ops.run(helper, op, rel, options).catch((error: unknown) => {
    if (error instanceof HelperGone) return undefined;
    throw conn.fail(name, rel, error);
  });
  if (op !== OP_READLINK || answer === undefined) return answer;
  const text = parseReadlink(answer);
  if (text === null)
    throw conn.fail(
      name,
      rel,
      new Error(`the host's answer is not a link text (${answer.length} hex digits)`),
    );
  return text;
}
