/**
 * What the job summary and the PR comment share, so both say the same thing:
 * status icons, the command's verb, short commit ids, one-line texts, list limits.
 */
import type { Report, TargetStatus } from './types.js';

/** Paths listed per category and target before "… and N more". */
export const LIST_LIMIT = 50;

export const STATUS_ICON: Record<TargetStatus, string> = {
  deployed: '✅',
  unchanged: '➖',
  failed: '❌',
  'rolled-back': '↩️',
  'rollback-unhealthy': '🚨',
  skipped: '⏭️',
  planned: '📝',
};

export const ROLLOUT_ICON: Record<Report['status'], string> = {
  succeeded: '✅',
  failed: '❌',
  cancelled: '⛔',
  planned: '📝',
};

export function shortSha(sha: string | null): string {
  return sha ? sha.slice(0, 7) : '∅';
}

export function oneLine(text: string, max = 120): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

export function verbFor(report: Report): string {
  if (report.command === 'plan') return 'plan';
  if (report.command === 'rollback') return 'rollback';
  return 'deploy';
}
