/**
 * Sizes and durations as people read them, shared by the terminal table, the live
 * progress, the job summary and the PR comment, so every view shows the same figures.
 */
import type { TargetReport } from './types.js';

/** Sum of the target's step durations. */
export function targetDurationMs(target: TargetReport): number {
  return target.steps.reduce((sum, step) => sum + step.durationMs, 0);
}

/** `1.2 kB`, decimal units as `du --si` and GitHub's own artifact sizes. */
export function formatBytes(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = -1;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

/** `500ms`, `5s`, `1.5s`, `2m`, `1m30s`: compact, as diffship.yml writes durations (terminal, messages, job summary). */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000)
    return ms % 1000 === 0 ? `${ms / 1000}s` : `${(ms / 1000).toFixed(1).replace(/\.0$/, '')}s`;
  const minutes = Math.floor(ms / 60_000);
  const seconds = Math.round((ms % 60_000) / 1000);
  return seconds === 0 ? `${minutes}m` : `${minutes}m${seconds}s`;
}
