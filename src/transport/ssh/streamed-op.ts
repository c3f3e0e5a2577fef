/**
 * A helper op whose long answer comes ahead in `part` payloads (scan, look):
 * each payload goes to a reader as it arrives, so a 500,000-entry walk is never
 * one string.
 */
import type { Op } from './perl-helper-protocol.js';
import type { OpsChannel, SshOps } from './perl-helper-client.js';

/**
 * Runs `op` on `helper` and returns its final answer. A payload the reader rejects
 * is thrown once the answer ends: the helper does not stop part way, and the
 * channel must be left at a record's end for the next one.
 */
export async function runStreamed(
  ops: SshOps,
  helper: OpsChannel,
  op: Op,
  rel: string,
  to: string,
  reader: { push(payload: string): void },
): Promise<string> {
  let bad: unknown = null;
  const onPart = (payload: string, bytes?: Buffer) => {
    if (bad !== null) return;
    try {
      // Raw frames are a read's (read-protocol.ts): in a walk's answer the host is not the helper.
      if (bytes) throw new Error('the host sent raw bytes in a listing');
      reader.push(payload);
    } catch (error) {
      bad = error;
    }
  };
  const answer = await ops.run(helper, op, rel, { to, onPart });
  if (bad !== null) throw bad;
  return answer;
}
