/**
 * The client side of the file helper's patch op (patch-protocol.ts):
 * SshTransport's patchFile. false where the helper does not run, or refused
 * the base (not the file named: edited, swapped, a link): the caller then
 * writes the file whole, as it would without the op.
 */
import { TransportError } from '../../errors.js';
import type { PatchCheck, PatchPart, PublishAfter } from '../transport.js';
import { checkRelPath } from '../rel-path.js';
import type { SshConnection } from './connection.js';
import { HelperGone, OpError, type OpsChannel, type SshOps } from './perl-helper-client.js';
import { OP_RENAME, OP_WRITE, SYNC_FLAG } from './perl-helper-protocol.js';
import { encodePatch, OP_PATCH, parsePatchAnswer } from './patch-protocol.js';

/**
 * Make `to` on the host from `base` and `parts` (staged at `staged`, checked, renamed); then,
 * with `after`, publish that file too: its write (fsync'd) and rename go to the helper in the
 * same turn as the patch, each chained to the record before it, so the host runs them only
 * once `to` is in place (the order two awaited calls gave) and the deploy waits once, not twice.
 */
export async function patchWithHelper(
  conn: SshConnection,
  ops: SshOps,
  files: { base: string; staged: string; to: string },
  check: PatchCheck,
  parts: Iterable<PatchPart>,
  mode: number,
  after?: { job: PublishAfter; unlink: (rel: string) => Promise<void> },
): Promise<boolean> {
  for (const p of [files.base, files.staged, files.to]) checkRelPath(p);
  if (after) for (const p of [after.job.tmp, after.job.rel]) checkRelPath(p);
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
  // Queued in one turn: adjacent on the channel.
  const patch = ops.run(helper, OP_PATCH, files.base, {
    to: `${files.staged}\0${files.to}`,
    mode: flags,
    data,
  });
  const next = after ? publishNext(ops, helper, after.job) : null;
  let answer: string;
  try {
    answer = await patch;
  } catch (error) {
    // Not patched: the host ran neither chained record (ECANCELED), unless it ended meanwhile.
    await next?.catch(() => undefined);
    if (error instanceof HelperGone) {
      if (after) await after.unlink(after.job.tmp).catch(() => undefined);
      return false;
    }
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
  if (!got || got.size !== check.result.size || got.sha256 !== check.result.sha256) {
    // What the host did of `after` stays as it is (a state it published says so itself), but no litter.
    if (after) await next?.catch(() => after.unlink(after.job.tmp).catch(() => undefined));
    throw new TransportError(
      'E_TRANSPORT',
      `${conn.description}: the file helper's answer to the patch of ${files.to} is garbled (${JSON.stringify(answer.slice(0, 80))})`,
    );
  }
  if (next && after) await next.catch((error: unknown) => publishFailed(conn, after, error));
  return true;
}

/** `after`'s write and rename, queued now, chained; resolves once both are done. */
function publishNext(ops: SshOps, helper: OpsChannel, after: PublishAfter): Promise<void> {
  const write = ops.run(helper, OP_WRITE, after.tmp, {
    mode: (after.mode & 0o7777) | SYNC_FLAG,
    data: after.data,
    chained: true,
  });
  const rename = ops.run(helper, OP_RENAME, after.tmp, { to: after.rel, chained: true });
  return Promise.allSettled([write, rename]).then(([w, r]) => {
    if (w.status === 'rejected') throw new StepFailed('write', w.reason);
    if (r.status === 'rejected') throw new StepFailed('rename', r.reason);
  });
}

class StepFailed {
  constructor(
    readonly step: 'write' | 'rename',
    readonly cause: unknown,
  ) {}
}

/** The patch is in place, `after` is not: no temporary file left, the step's error thrown. */
async function publishFailed(
  conn: SshConnection,
  after: { job: PublishAfter; unlink: (rel: string) => Promise<void> },
  error: unknown,
): Promise<never> {
  const { step, cause } = error instanceof StepFailed ? error : { step: 'write' as const, cause: error };
  await after.unlink(after.job.tmp).catch(() => undefined);
  throw conn.fail(step, after.job.tmp, cause, step === 'rename' ? after.job.rel : undefined);
}
