import { TransportError } from '../../errors.js';
import { refuseDangerousRoot } from '../dangerous-root.js';
import type { SshConnection } from './connection.js';
import { endpointLabel } from './errors.js';
import { HelperGone, OpError, type OpsChannel, type SshOps } from './perl-helper-client.js';
import { OP_ROOT, parseRootAnswer } from './shell-ops-protocol.js';

/**
 * The target folder resolved by the file helper (op 21, shell-ops-protocol.ts), not over SFTP:
 * a deploy that the helper does entirely never opens the SFTP session (a second remote shell).
 */

/**
 * Check the root folder (creating it when asked) and resolve it, through the file helper.
 * False where the helper cannot run (no perl, no exec, an SFTP-only account): the caller
 * resolves it over SFTP (connect.ts).
 */
export async function resolveRootWithHelper(
  conn: SshConnection,
  ops: SshOps,
  create: boolean,
  /** Called once the root's record is queued: records queued now go out with it (helper-peek.ts `atConnect`). */
  onAsked?: (helper: OpsChannel) => void,
): Promise<boolean> {
  const root = conn.base;
  const payload = await askRoot(conn, ops, create, onAsked).catch((error: unknown) => {
    if (error instanceof OpError) {
      const what = create
        ? `cannot create the target folder ${root}`
        : `cannot read the target folder ${root}`;
      throw new TransportError('E_CONNECT', `${conn.description}: ${what}: ${conn.why(error)}`);
    }
    // Dropped while the helper started (a stall is told as itself): nothing was written yet.
    if (error === conn.lost && !conn.wasStalled)
      throw new TransportError(
        'E_CONNECT',
        `ssh ${endpointLabel(conn.target)}: the connection dropped while starting the file helper (${conn.why(error)}); nothing was written — check the network and that sshd on the host is up, then run again`,
        { cause: conn.safeCause(error) },
      );
    throw error;
  });
  if (payload === null) return false;
  const answer = parseRootAnswer(payload);
  if (answer === null)
    throw new TransportError(
      'E_CONNECT',
      `${conn.description}: the host's answer about the target folder ${root} is not one: ${JSON.stringify(payload.slice(0, 100))}`,
    );
  if (answer.kind === 'missing')
    throw new TransportError(
      'E_CONNECT',
      `${conn.description}: target folder ${root} does not exist on the host; create it first`,
      { rootMissing: true },
    );
  if (answer.kind === 'notDir')
    throw new TransportError('E_CONNECT', `${conn.description}: target path ${root} is not a folder`);
  conn.base = answer.real;
  refuseDangerousRoot(answer.real, answer.home === null ? [] : [answer.home], conn.description);
  return true;
}

/** The helper's answer about the root; null where the helper does not run. */
async function askRoot(
  conn: SshConnection,
  ops: SshOps,
  create: boolean,
  onAsked?: (helper: OpsChannel) => void,
): Promise<string | null> {
  const helper = await ops.opened();
  if (!helper) return null;
  const asked = ops.run(helper, OP_ROOT, conn.base, { mode: create ? 1 : 0 });
  onAsked?.(helper);
  return asked.catch((error: unknown) => {
    if (error instanceof HelperGone) return null;
    throw error;
  });
}
