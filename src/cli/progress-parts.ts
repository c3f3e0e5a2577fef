/** What both progress displays (live block and plain lines) share. */
import type { RolloutEvent } from '../rollout/events.js';
import type { Colors } from './output.js';

export interface Progress {
  onEvent(e: RolloutEvent): void;
  log(level: 'info' | 'warn', message: string): void;
  /** Stop redrawing, leaving the last frame on screen. */
  done(): void;
}

export function paintStatus(c: Colors, status: string): string {
  if (status === 'deployed' || status === 'planned' || status === 'unchanged') return c.green(status);
  if (status === 'failed' || status === 'rollback-unhealthy') return c.red(status);
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
