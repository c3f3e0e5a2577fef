/**
 * `command: status` in the action, pure: the table rows, the outputs and the
 * failure line from what each target holds.
 */
import type { StatusRow } from '../report/markdown.js';
import type { TargetStatusInfo } from '../rollout/rollout.js';
import { emptyOutputs, type ActionOutputs } from './outputs.js';

/** One summary row per target: short release, when, drift and lock at a glance. */
export function statusRow(info: TargetStatusInfo): StatusRow {
  return {
    Target: info.name,
    Release: info.release ? info.release.slice(0, 12) : info.error ? '' : '(none)',
    'Deployed at': info.deployedAt ?? '',
    Mode: info.mode ?? '',
    Drift: info.drift.length,
    Kept: info.kept,
    Lock: info.lockUnreadable
      ? `unreadable (${info.lockUnreadable})`
      : info.lock
        ? `${info.lock.user}@${info.lock.host} since ${info.lock.since}${info.lock.stale ? ` (stale: ${info.lock.stale})` : ''}`
        : '',
    // A backup of a deploy cut off before its commit is not one a rollback can restore: told apart.
    Backups: info.uncommittedBackups?.length
      ? `${info.backups.length} (+${info.uncommittedBackups.length} left by a cut-off deploy; the next run removes ${info.uncommittedBackups.length === 1 ? 'it' : 'them'})`
      : info.backups.length,
    Interrupted: info.interrupted ? 'yes' : '',
    Error: info.error ?? '',
  };
}

/** Outputs of a status run: `failed` and the unreachable targets when some could not be inspected. */
export function statusOutputs(infos: readonly TargetStatusInfo[], reportPath: string): ActionOutputs {
  const failed = infos.filter((i) => i.error).map((i) => i.name);
  return {
    ...emptyOutputs(failed.length ? 'failed' : 'succeeded', reportPath),
    'failed-targets': JSON.stringify(failed),
  };
}

/** The line the step fails with when a target could not be inspected; null when all could. */
export function statusFailure(infos: readonly TargetStatusInfo[]): string | null {
  const failed = infos.filter((i) => i.error);
  if (failed.length === 0) return null;
  return `diffship status: ${failed.length} of ${infos.length} target(s) could not be inspected (${failed.map((i) => i.name).join(', ')})`;
}
