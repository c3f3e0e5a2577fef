/**
 * Live progress of a rollout on stderr. On a TTY, a block redrawn in place
 * (log-update): one line per wave and per target with its current step, file
 * counts and the latest check attempt. Elsewhere (CI logs), one plain line per
 * event, so logs read top to bottom.
 */
import type { Colors, Output } from './output.js';
import type { Progress } from './progress-parts.js';

export type { Progress } from './progress-parts.js';

export async function createProgress(out: Output, c: Colors, live: boolean): Promise<Progress> {
  // log-update (and its string-width tables) load only for a live terminal: CI logs start faster.
  if (!live) return (await import('./progress-lines.js')).lineProgress(out, c);
  const { liveProgress } = await import('./progress-live.js');
  return liveProgress(out, c, (await import('log-update')).createLogUpdate);
}
