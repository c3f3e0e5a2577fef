/**
 * The client side of the file helper's look op (look-protocol.ts):
 * SshTransport's walkUnmatched. Says "not here" (null) where the helper does
 * not run or lacks what the op needs; the caller then scans the whole target.
 */
import { TransportError } from '../../errors.js';
import type { ExactVisit, UnmatchedWalk } from '../transport.js';
import { checkRelPath } from '../rel-path.js';
import type { SshConnection } from './connection.js';
import { HelperGone, OpError, type SshOps } from './perl-helper-client.js';
import { LookReader, OP_LOOK, parseLookSummary } from './look-protocol.js';
import { ScanFormatError } from './scan-protocol.js';
import { runStreamed } from './streamed-op.js';

/** Walk the target through the helper, told only what differs from the manifest's stat cache. */
export async function lookWithHelper(
  conn: SshConnection,
  ops: SshOps,
  files: { manifest: string; state: string; skip: readonly string[] },
  visit: ExactVisit,
): Promise<UnmatchedWalk | null> {
  for (const p of [files.manifest, files.state, ...files.skip]) checkRelPath(p);
  const helper = await ops.channel();
  if (!helper) return null;
  const reader = new LookReader(visit);
  try {
    const to = [files.state, ...files.skip].join('\0');
    const answer = await runStreamed(ops, helper, OP_LOOK, files.manifest, to, reader);
    const summary = parseLookSummary(answer);
    if (!summary) throw new ScanFormatError(`unexpected answer ${JSON.stringify(answer.slice(0, 80))}`);
    if (summary.records !== reader.count)
      throw new ScanFormatError(`the look announced ${summary.records} entries and sent ${reader.count}`);
    return { ...summary, missing: reader.missing };
  } catch (error) {
    if (error instanceof HelperGone) return null;
    // An old helper, no Time::HiRes, or a manifest it cannot read: the caller scans instead.
    if (error instanceof OpError) return null;
    if (error instanceof ScanFormatError)
      throw new TransportError(
        'E_TRANSPORT',
        `${conn.description}: the file helper's look at the target is garbled (${error.message})`,
      );
    throw conn.fail('walk', '', error);
  }
}
