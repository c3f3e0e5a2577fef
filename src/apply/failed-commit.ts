/**
 * A deploy's commit step that failed half-way (session.ts): whether its state got written anyway
 * (the state's write may fail after its rename), and the journal's undo run at once, with the
 * error to throw saying where the target stands and what to do.
 */
import { DiffshipError, describeError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Transport } from '../transport/transport.js';
import type { Layout } from './layout.js';
import { recover } from './journal.js';
import { readState } from './state.js';

interface Committing {
  transport: Transport;
  layout: Layout;
  log: Logger;
  concurrency: number;
}

/** Does the recorded state name `deployId` (the release in place and recorded)? */
export async function stateIsOurs(t: Transport, l: Layout, deployId: string): Promise<boolean> {
  try {
    return (await readState(t, l))?.deployId === deployId;
  } catch {
    return false;
  }
}

/** Put the recorded release `from` back now; returns the error to throw, the first one (`cause`) named. */
export async function undoFailedCommit(
  s: Committing,
  cause: unknown,
  from: string | null,
): Promise<DiffshipError> {
  const code = cause instanceof DiffshipError ? cause.code : 'E_TRANSPORT';
  const t = s.transport;
  try {
    await recover(t, s.layout, s.log, s.concurrency);
  } catch (undoError) {
    // The journal stays: the next run on this target finishes the undo.
    s.log.error(
      `${t.description}: could not undo the failed deploy now (${describeError(undoError)}); the next run will, from its journal (first error: ${describeError(cause)})`,
    );
    return new DiffshipError(
      code,
      `${describeError(cause)} — the deploy was cut off during its commit and could not be undone now; its journal stays, and the next run on ${t.description} finishes or undoes it before anything else: run the deploy again once the target is reachable (\`diffship status\` shows "interrupted")`,
      { cause },
    );
  }
  return new DiffshipError(
    code,
    `${describeError(cause)} — undone: ${t.description} is back at release ${from?.slice(0, 12) ?? '(none)'}; fix the cause and deploy again`,
    { cause },
  );
}
