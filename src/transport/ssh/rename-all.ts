/**
 * SshTransport's renameAllThenStat: a commit's renames and, behind them, the exact lstats of
 * the files it wrote (what the next manifest records), sent to the file helper in one turn.
 * The host runs records in order, so each stat is taken after every rename, as a stat asked
 * once the renames had answered was; the deploy waits for the host once, not twice.
 */
import type { FileStat } from '../../plan/manifest-types.js';
import { checkRelPath } from '../rel-path.js';
import type { SshConnection } from './connection.js';
import type { SshOps } from './perl-helper-client.js';
import { OP_RENAME } from './perl-helper-protocol.js';
import { statsOn } from './scan.js';

/** null where the helper does not run (nothing renamed); `stats` null where it takes no exact stat. */
export async function renameAllWithHelper(
  conn: SshConnection,
  ops: SshOps,
  pairs: ReadonlyArray<readonly [string, string]>,
  statAfter: readonly string[],
): Promise<{ stats: Map<string, FileStat | null> | null } | null> {
  for (const [from, to] of pairs) {
    checkRelPath(from);
    checkRelPath(to);
  }
  for (const rel of statAfter) checkRelPath(rel);
  let helper;
  try {
    helper = await ops.channel();
  } catch (error) {
    throw conn.fail('rename', pairs[0]?.[0] ?? '', error, pairs[0]?.[1]);
  }
  if (!helper) return null;
  // Queued in one turn, in this order: every rename, then the stats.
  const renames = pairs.map(([from, to]) => ops.run(helper, OP_RENAME, from, { to }));
  const stats = statsOn(conn, ops, helper, statAfter);
  const settled = await Promise.allSettled(renames);
  const failed = settled.findIndex((s) => s.status === 'rejected');
  if (failed !== -1) {
    await stats.catch(() => undefined);
    const [from, to] = pairs[failed]!;
    throw conn.fail('rename', from, (settled[failed] as PromiseRejectedResult).reason, to);
  }
  return { stats: await stats };
}
