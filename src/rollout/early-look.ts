/**
 * Preflight's first looks at an SSH target's state folder (state-prefetch.ts: the folder, its
 * files and listings, then the manifest the state names), asked as soon as the early connection
 * (early-connect.ts) is up, while git resolves and lists the release: their answers wait in the
 * transport's read-ahead, and preflight's session reads them from there instead of asking
 * (issue 13: its two waits for the host overlap the release's own work, not follow it).
 *
 * Read-only, as preflight is. What they saw is as old as when they were asked: `since` is
 * preflight's clock from then on (a plan it hands on vouches only for paths older than it).
 * A transport that cannot peek, or a connection that failed, asks nothing: preflight then looks
 * itself, as before.
 */
import { layout } from '../apply/layout.js';
import { prefetchStateFolder } from '../apply/state-prefetch.js';
import type { Transport } from '../transport/transport.js';

export interface EarlyLook {
  /** When the looks were started (Date.now()): before the host was asked anything. */
  readonly since: number;
  /** What the looks saw (state-prefetch.ts), once answered; null when nothing was asked or answered. */
  readonly seen: Promise<unknown>;
}

/** Start the looks `t` will be asked for once its early connection is up (never rejects). */
export function startEarlyLook(t: Transport, stateDir: string): EarlyLook | undefined {
  if (!t.preconnected || !t.peek) return undefined;
  const since = Date.now();
  const seen = t
    .preconnected()
    .then((up) => (up ? prefetchStateFolder(t, layout(stateDir), { manifest: true }) : null))
    .catch(() => null);
  return { since, seen };
}
