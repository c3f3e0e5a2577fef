/**
 * A turn of the event loop for timers and signals, where a local target's work would hold it.
 *
 * The local transport calls node:fs synchronously where that is cheaper (microseconds a call):
 * a loop over such calls awaits promises that are settled already, so it runs as microtasks
 * only and the event loop never gets a turn. A rollback putting back a 500,000-file first
 * deploy ran 16 s that way: no timer fired and no signal was handled, so a SIGTERM's hard stop
 * (rollout/hard-stop.ts) came after it: the process ended 21 s after the signal.
 * Each call asks here first; past TURN_MS without a turn it waits for one (a setImmediate).
 */

/** The longest run of local calls without the event loop getting a turn. */
const TURN_MS = 20;

let lastTurn = performance.now();
let watching = false;

function turned(): void {
  watching = false;
  lastTurn = performance.now();
}

/** null while the event loop had a turn in the last TURN_MS; else a promise of its next turn. */
export function loopTurn(): Promise<void> | null {
  // Notes when the loop next gets control: every turn while calls are made, never while stuck.
  if (!watching) {
    watching = true;
    setImmediate(turned);
  }
  if (performance.now() - lastTurn < TURN_MS) return null;
  // Queued after `turned`: it has run (the turn is noted) when this resolves.
  return new Promise((resolve) => setImmediate(resolve));
}
