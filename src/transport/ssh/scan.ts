/**
 * The client side of the file helper's scan and stats ops (scan-protocol.ts):
 * SshTransport's walkExact and statExactMany. Both say "not here" (false, null)
 * where the helper does not run (an SFTP-only host, `bulkOps: false`) or lacks
 * what the op needs, and the caller then walks over SFTP and hashes.
 */
import { TransportError } from '../../errors.js';
import type { FileStat } from '../../plan/manifest-types.js';
import { checkRelPath } from '../rel-path.js';
import type { ExactVisit } from '../transport.js';
import type { SshConnection } from './connection.js';
import { HelperGone, OpError, type OpsChannel, type SshOps } from './perl-helper-client.js';
import { OP_SCAN, OP_STATS, parseStatsPayload, ScanFormatError, ScanReader } from './scan-protocol.js';
import { runStreamed } from './streamed-op.js';

/** Paths per stats request: keeps each answer line short; all batches are sent at once. */
const STATS_BATCH = 1000;

/** The helper cannot do it here: the caller takes the other way. */
function notHere(error: unknown): boolean {
  return error instanceof HelperGone || (error instanceof OpError && error.errno === 'ENOSYS');
}

/** Walk the whole target through the helper, visiting entries as their part of the answer arrives. */
export async function scanWithHelper(
  conn: SshConnection,
  ops: SshOps,
  skip: readonly string[],
  visit: ExactVisit,
): Promise<boolean> {
  for (const s of skip) checkRelPath(s);
  const helper = await ops.channel();
  if (!helper) return false;
  const reader = new ScanReader(visit);
  try {
    const count = await runStreamed(ops, helper, OP_SCAN, '', skip.join('\0'), reader);
    if (count !== String(reader.count))
      throw new ScanFormatError(`the scan announced ${count} entries and sent ${reader.count}`);
    return true;
  } catch (error) {
    if (notHere(error)) return false;
    if (error instanceof ScanFormatError)
      throw new TransportError(
        'E_TRANSPORT',
        `${conn.description}: the file helper's walk of the target is garbled (${error.message})`,
      );
    throw conn.fail('walk', '', error);
  }
}

/** Exact lstats through the helper, in batches; null where the helper cannot take them. */
export async function statsWithHelper(
  conn: SshConnection,
  ops: SshOps,
  rels: readonly string[],
): Promise<Map<string, FileStat | null> | null> {
  for (const rel of rels) checkRelPath(rel);
  const helper = await ops.channel();
  if (!helper) return null;
  return statsOn(conn, ops, helper, rels);
}

/**
 * statsWithHelper on the helper's open channel: its records are queued before this returns
 * (behind whatever the caller queued in the same turn, which the host runs first).
 */
export async function statsOn(
  conn: SshConnection,
  ops: SshOps,
  helper: OpsChannel,
  rels: readonly string[],
): Promise<Map<string, FileStat | null> | null> {
  const out = new Map<string, FileStat | null>();
  if (rels.length === 0) return out;
  const batches: Array<readonly string[]> = [];
  for (let at = 0; at < rels.length; at += STATS_BATCH) batches.push(rels.slice(at, at + STATS_BATCH));
  let payloads: string[];
  try {
    payloads = await Promise.all(batches.map((batch) => ops.run(helper, OP_STATS, batch.join('\0'))));
  } catch (error) {
    if (notHere(error)) return null;
    throw conn.fail('lstat', rels[0]!, error);
  }
  for (const [b, batch] of batches.entries()) {
    const stats = parseStatsPayload(payloads[b]!, batch.length);
    if (!stats)
      throw new TransportError(
        'E_TRANSPORT',
        `${conn.description}: unexpected answer from the file helper to an lstat of ${batch.length} path(s)`,
      );
    batch.forEach((rel, i) => out.set(rel, stats[i]!));
  }
  return out;
}
