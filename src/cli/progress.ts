/**
 * Live progress of a rollout on stderr. On a TTY, a block redrawn in place
 * (log-update): one line per wave and per target with its current step, file
 * counts and the latest check attempt. Elsewhere (CI logs), one plain line per
 * event, so logs read top to bottom.
 */
import type { RolloutEvent } from '../rollout/events.js';
import type { Colors, Output } from './output.js';

export interface Progress {
  onEvent(e: RolloutEvent): void;
  log(level: 'info' | 'warn', message: string): void;
  /** Stop redrawing, leaving the last frame on screen. */
  done(): void;
}

export async function createProgress(out: Output, c: Colors, live: boolean): Promise<Progress> {
  // log-update (and its string-width tables) load only for a live terminal: CI logs start faster.
  if (!live) return (await import('./progress-lines.js')).lineProgress(out, c);
  const { liveProgress } = await import('./progress-live.js');
  return liveProgress(out, c, (await import('log-update')).createLogUpdate);
}

export function paintStatus(c: Colors, status: string): string {
  if (status === 'deployed' || status === 'planned' || status === 'unchanged') return c.green(status);
  if (status === 'failed') return c.red(status);
  if (status === 'rolled-back') return c.yellow(status);
  return c.dim(status);
}

/**
 * The one line of a step's detail worth showing: a failure's reason comes first, an ok
 * command's last line is its conclusion (a JSON answer's first line would be "{").
 */
export function stepLine(step: { status: string; detail: string }): string {
  const lines = step.detail
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  return (step.status === 'ok' ? lines.at(-1) : lines[0]) ?? '';
}
