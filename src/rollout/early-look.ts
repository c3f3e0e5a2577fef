/**
 * Preflight's first looks at an SSH target's state folder (state-prefetch.ts: the folder, its
 * files and listings, then the manifest the state names), the first asked with the early
 * connection's check of the target folder (early-connect.ts), the second once it is up, while
 * git resolves and lists the release: their answers wait in the
 * transport's read-ahead, and preflight's session reads them from there instead of asking
 * (issue 13: its two waits for the host overlap the release's own work, not follow it).
 *
 * Read-only, as preflight is. What they saw is as old as when they were asked: `since` is
 * preflight's clock from then on (a plan it hands on vouches only for paths older than it).
 * A transport that cannot peek, or a connection that failed, asks nothing: preflight then looks
 * itself, as before.
 */
import { layout } from '../apply/layout.js';
import { firstPeek, prefetchStateFolder } from '../apply/state-prefetch.js';
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
  const l = layout(stateDir);
  // The first look goes with the connection's check of the target folder (no wait of its own).
  const look = firstPeek(l, t);
  const first = t.peekAtConnect?.(look.paths, look.reads) ?? Promise.resolve(null);
  const seen = t
    .preconnected()
    .then(async (up) => (up ? prefetchStateFolder(t, l, { manifest: true, first: await first }) : null))
    .catch(() => null);
  return { since, seen };
}
