/**
 * The client side of the file helper's patch op (patch-protocol.ts):
 * SshTransport's patchFile. false where the helper does not run, or refused
 * the base (not the file named: edited, swapped, a link): the caller then
 * writes the file whole, as it would without the op.
 */
import { TransportError } from '../../errors.js';
import type { PatchCheck, PatchPart } from '../transport.js';
import { checkRelPath } from '../rel-path.js';
import type { SshConnection } from './connection.js';
import { HelperGone, OpError, type SshOps } from './perl-helper-client.js';
import { SYNC_FLAG } from './perl-helper-protocol.js';
import { encodePatch, OP_PATCH, parsePatchAnswer } from './patch-protocol.js';

/** Make `to` on the host from `base` and `parts` (staged at `staged`, checked, renamed). */
export async function patchWithHelper(
  conn: SshConnection,
  ops: SshOps,
  files: { base: string; staged: string; to: string },
  check: PatchCheck,
  parts: Iterable<PatchPart>,
  mode: number,
): Promise<boolean> {
  for (const p of [files.base, files.staged, files.to]) checkRelPath(p);
  let helper;
  try {
    helper = await ops.channel();
  } catch (error) {
    throw conn.fail('write', files.to, error);
  }
  if (!helper) return false;
  const data = encodePatch(check, parts);
  // Always fsync'd: the state names it next, and a separate sync would cost a round trip.
  const flags = (mode & 0o7777) | SYNC_FLAG;
  let answer: string;
  try {
    answer = await ops.run(helper, OP_PATCH, files.base, {
      to: `${files.staged}\0${files.to}`,
      mode: flags,
      data,
    });
  } catch (error) {
    if (error instanceof HelperGone) return false;
    if (error instanceof OpError) {
      conn.log.debug(
        `ssh: ${files.to} written whole: the host did not patch ${files.base} (${error.message})`,
      );
      return false;
    }
    throw conn.fail('write', files.to, error);
  }
  const got = parsePatchAnswer(answer);
  // The helper renames only a file of the size and hash named: any other answer is not its own.
  if (!got || got.size !== check.result.size || got.sha256 !== check.result.sha256)
    throw new TransportError(
      'E_TRANSPORT',
      `${conn.description}: the file helper's answer to the patch of ${files.to} is garbled (${JSON.stringify(answer.slice(0, 80))})`,
    );
  return true;
}
