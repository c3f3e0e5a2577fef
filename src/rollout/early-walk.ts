/**
 * A local target's whole walk (authoritative mode) started as a deploy starts,
 * before the release is resolved (issue 13): find then walks while git starts
 * and the release is read and checked, not after (a 50,000-file update's find
 * started ~101 ms into the run, after git had resolved the release and the
 * state and manifest were read; ~88 ms now).
 *
 * Only a guess is taken from state.json: which kind of walk the plan will read
 * (observe/whole-walk.ts). The plan reads and checks the state itself and asks
 * for the walk it needs, which keeps this one when it is that walk and stops it
 * otherwise. Read-only; a folder that is missing or refused starts nothing (the
 * session says why, as before). Only authoritative plans walk, and those are
 * never handed on by a recheck of their paths' stats (plan-recheck.ts): a walk
 * begun before preflight's clock starts vouches for nothing it did not before.
 */
import type { DriftScope } from '../config/types.js';
import { layout } from '../apply/layout.js';
import { readJson } from '../apply/json-file.js';
import type { Transport } from '../transport/transport.js';
import { rawStateHint, startWholeWalk, stateHint } from '../observe/whole-walk.js';

export interface EarlyWalk {
  /** Settles once the walk started, or once it was found not to start (never rejects). */
  readonly started: Promise<void>;
}

/**
 * Connect `transport` (a local target) and start the walk its authoritative plan will read,
 * unless `taken()` by then: the caller owns the transport from that moment.
 */
export function startEarlyWalk(
  transport: Transport,
  o: { stateDir: string; driftScope?: DriftScope; taken: () => boolean },
): EarlyWalk {
  const started = (async () => {
    await transport.connect({ create: false });
    const l = layout(o.stateDir);
    // A guess only: a state that is not JSON, or not a file, is the session's to refuse.
    const raw = await readJson<unknown>(transport, l.state).catch(() => null);
    if (o.taken()) return;
    startWholeWalk(transport, [l.dir], rawStateHint(raw) ?? stateHint(null), o);
  })().catch(() => undefined);
  return { started };
}
