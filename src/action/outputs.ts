/**
 * Step outputs computed from a report, pure (SPEC §7). Every value is a
 * string, as `core.setOutput` writes it; lists are JSON arrays so a workflow
 * reads them with `fromJSON()` whatever characters a path or name holds.
 */
import type { Report, TargetReport } from '../report/types.js';

/** The names of the action's outputs, as in action.yml. */
export interface ActionOutputs {
  status: string;
  changed: 'true' | 'false';
  added: string;
  updated: string;
  deleted: string;
  renamed: string;
  'deployed-targets': string;
  'failed-targets': string;
  report: string;
  matrix: string;
  units: string;
}

/** One job per wave: `{"include":[{"wave":0,"targets":"a,b"}]}`. */
export interface WaveMatrix {
  include: Array<{ wave: number; targets: string }>;
}

/**
 * The waves of the plan as a job matrix. Target names cannot hold commas
 * (config schema), so `targets` joins them with commas, ready for the
 * `targets` input of the wave's job.
 *
 * @example waveMatrix({ waves: [['a'], ['b', 'c']] }) // {"include":[{"wave":0,"targets":"a"},{"wave":1,"targets":"b,c"}]}
 */
export function waveMatrix(report: Pick<Report, 'waves'>): WaveMatrix {
  return {
    include: report.waves
      .map((targets, wave) => ({ wave, targets: targets.join(',') }))
      .filter((entry) => entry.targets !== ''),
  };
}

/**
 * Did this target take the change the run was about? A deploy's `deployed`
 * targets received their change set, a plan's `planned` ones would, and a
 * rollback's `rolled-back` ones were restored. Failed, skipped, unchanged and
 * (in a deploy) rolled-back targets end where they started.
 */
function tookEffect(report: Pick<Report, 'command'>, target: TargetReport): boolean {
  if (target.status === 'deployed' || target.status === 'planned') return true;
  // `units`: a deploy that rolled back only some units took the rest of the release (a failure too).
  if (report.command === 'deploy' && target.status === 'rolled-back' && target.heldBack?.length) return true;
  return report.command === 'rollback' && target.status === 'rolled-back';
}

/** The target's changes, without the files of units held back at their previous version. */
function changesOf(target: TargetReport): TargetReport['changes'] {
  const held = (target.units ?? []).filter((u) => target.heldBack?.includes(u.name)).map((u) => u.path);
  if (held.length === 0) return target.changes;
  const keep = (p: string) => !held.some((h) => p === h || p.startsWith(`${h}/`));
  const c = target.changes;
  return {
    ...c,
    added: c.added.filter(keep),
    updated: c.updated.filter(keep),
    deleted: c.deleted.filter(keep),
    renamed: c.renamed.filter((r) => keep(r.to)),
  };
}

function hasChanges(target: TargetReport): boolean {
  const c = changesOf(target);
  return c.added.length + c.updated.length + c.deleted.length + c.renamed.length > 0;
}

/**
 * A target that failed on its own: status `failed`, or `rolled-back` after a
 * step of its own failed (with `rollback: all`, healthy targets are rolled back
 * too; those are not failures).
 */
export function failedOnItsOwn(target: TargetReport): boolean {
  if (target.status === 'failed' || target.status === 'rollback-unhealthy') return true;
  return (
    target.status === 'rolled-back' &&
    target.steps.some((s) => s.status === 'failed' && s.name !== 'rollback')
  );
}

/**
 * `units`: per target that took effect and has units, the units deactivated and
 * activated, each in the order their hooks ran (docs/units.md).
 */
function unitsOutput(
  targets: readonly TargetReport[],
): Array<{ target: string; deactivate: string[]; activate: string[]; 'held-back'?: string[] }> {
  return targets
    .filter((t) => t.units && t.units.length > 0)
    .map((t) => ({
      target: t.name,
      deactivate: t.units!.filter((u) => u.status === 'deleted').map((u) => u.name),
      activate: t.units!.filter((u) => u.status !== 'deleted').map((u) => u.name),
      // A per-unit rollback: units that went back to their previous files (docs/units.md).
      ...(t.heldBack?.length ? { 'held-back': t.heldBack } : {}),
    }));
}

/** Sorted (byte order), deduplicated. */
function union(lists: Iterable<readonly string[]>): string[] {
  const set = new Set<string>();
  for (const list of lists) for (const item of list) set.add(item);
  return [...set].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * All outputs of a finished plan/deploy/rollback.
 *
 * - `changed`: some target took a non-empty change set (a plan: would take one).
 * - `added`/`updated`/`deleted`/`renamed`: paths unioned over the targets that
 *   took effect; `renamed` lists the new paths (the old ones are in the report).
 * - `deployed-targets`: targets that took effect; `failed-targets`: targets
 *   that failed on their own. Both JSON arrays of names, in report order.
 */
export function reportOutputs(report: Report, reportPath: string): ActionOutputs {
  const effective = report.targets.filter((t) => tookEffect(report, t));
  const json = (value: unknown) => JSON.stringify(value);
  return {
    status: report.status,
    changed: effective.some(hasChanges) ? 'true' : 'false',
    added: json(union(effective.map((t) => changesOf(t).added))),
    updated: json(union(effective.map((t) => changesOf(t).updated))),
    deleted: json(union(effective.map((t) => changesOf(t).deleted))),
    renamed: json(union(effective.map((t) => changesOf(t).renamed.map((r) => r.to)))),
    'deployed-targets': json(effective.map((t) => t.name)),
    'failed-targets': json(report.targets.filter(failedOnItsOwn).map((t) => t.name)),
    report: reportPath,
    matrix: json(waveMatrix(report)),
    units: json(unitsOutput(effective)),
  };
}

/**
 * Outputs of a step that ended without a report (bad input, broken config,
 * `command: status`): `status` says how it ended and the lists are empty, so
 * `fromJSON()` in later steps never fails on an empty string.
 */
export function emptyOutputs(status: string, reportPath = ''): ActionOutputs {
  return {
    status,
    changed: 'false',
    added: '[]',
    updated: '[]',
    deleted: '[]',
    renamed: '[]',
    'deployed-targets': '[]',
    'failed-targets': '[]',
    report: reportPath,
    matrix: JSON.stringify({ include: [] } satisfies WaveMatrix),
    units: '[]',
  };
}

/** An error annotation per failed target, titled with the target and the step that failed. */
export function failureAnnotations(report: Report): Array<{ title: string; message: string }> {
  return report.targets.filter(failedOnItsOwn).map((target) => {
    const step = target.steps.find((s) => s.status === 'failed' && s.name !== 'rollback');
    const where = step ? `${step.name} step` : 'rollout';
    const rolledBack = target.status === 'rolled-back' ? ' (rolled back)' : '';
    const message = target.error ?? step?.detail ?? `${target.name} failed`;
    return { title: `diffship: ${target.name} failed in the ${where}${rolledBack}`, message };
  });
}

/** The one line the step fails with when the rollout itself did not succeed; null when it did. */
export function failureMessage(report: Report): string | null {
  if (report.status === 'succeeded' || report.status === 'planned') return null;
  const failed = report.targets.filter(failedOnItsOwn).map((t) => t.name);
  const verb = report.command;
  if (report.status === 'cancelled')
    return `diffship ${verb} was cancelled; targets in flight were rolled back as configured`;
  const which = failed.length
    ? `: ${failed.length} of ${report.targets.length} target(s) failed (${failed.join(', ')})`
    : '';
  const of = report.to ? ` of ${report.to.slice(0, 7)}` : '';
  return `diffship ${verb}${of} failed${which}`;
}
