/**
 * Markdown renderings of a report, pure: the job summary (tables per wave, a
 * mermaid timeline, collapsed drift and kept lists) and the status table. Plain
 * strings, so they are tested without a runner and could be posted anywhere
 * GitHub renders markdown. The PR plan comment is in plan-comment.ts.
 */
import type { Report, StepReport, TargetReport } from './types.js';
import { unitsMarkdown } from './units.js';
import { formatBytes, formatDuration, targetDurationMs } from './format.js';
import { codeSpan, fenced, inlinePath, tableCode, tableText } from './md-safe.js';
import { LIST_LIMIT, ROLLOUT_ICON, STATUS_ICON, oneLine, shortSha, verbFor } from './md-shared.js';

export { formatBytes, formatDuration, targetDurationMs };

/** Above this many targets the timeline draws one bar per target instead of one per step. */
const TIMELINE_STEP_LIMIT = 40;
/** Above this many targets the timeline is left out (mermaid stops rendering long charts). */
const TIMELINE_TARGET_LIMIT = 200;

/** One table cell: pipes escaped, line breaks flattened (a path may hold both). */
function cell(text: string): string {
  return text
    .replace(/\\/g, '\\\\')
    .replace(/\|/g, '\\|')
    .replace(/\r?\n|\r/g, ' ');
}

/** The first failed step other than the rollback that cleaned up after it. */
function failedStep(target: TargetReport): StepReport | undefined {
  return (
    target.steps.find((s) => s.status === 'failed' && s.name !== 'rollback') ??
    target.steps.find((s) => s.status === 'failed')
  );
}

function rolloutDurationMs(report: Report): number {
  const ms = Date.parse(report.finishedAt) - Date.parse(report.startedAt);
  return Number.isFinite(ms) && ms >= 0 ? ms : 0;
}

/** Targets of the report grouped by wave index (the report's `wave` field), in wave order. */
function byWave(report: Report): Array<{ wave: number; targets: TargetReport[] }> {
  const waves = new Map<number, TargetReport[]>();
  for (const target of report.targets) {
    const list = waves.get(target.wave) ?? [];
    list.push(target);
    waves.set(target.wave, list);
  }
  return [...waves.entries()].sort(([a], [b]) => a - b).map(([wave, targets]) => ({ wave, targets }));
}

/** The heading line: what ran, how it ended, which release. */
function heading(report: Report): string {
  const lines = [`## ${ROLLOUT_ICON[report.status]} diffship ${verbFor(report)}: ${report.status}`, ''];
  const ref = report.ref && report.ref !== report.to ? ` (${inlinePath(report.ref)})` : '';
  const changed = report.targets.filter((t) => t.status === 'deployed' || t.status === 'planned').length;
  const failed = report.targets.filter(
    (t) => t.status === 'failed' || t.status === 'rolled-back' || t.status === 'rollback-unhealthy',
  ).length;
  lines.push(
    [
      report.to ? `**Release** \`${shortSha(report.to)}\`${ref}` : '**Release** restored from backup',
      `**mode** ${report.mode}`,
      `**targets** ${report.targets.length} (${changed} ${report.command === 'plan' ? 'to change' : 'changed'}${failed ? `, ${failed} failed` : ''})`,
      `**waves** ${report.waves.length}`,
      `**duration** ${formatDuration(rolloutDurationMs(report))}`,
    ].join(' · '),
  );
  return lines.join('\n');
}

function targetRow(target: TargetReport): string {
  const c = target.changes;
  const failed = failedStep(target);
  // The detail holds hook output and target errors: code, never markdown.
  const failure = failed
    ? `${failed.name}${failed.detail ? `: ${tableCode(oneLine(failed.detail, 80))}` : ''}`
    : '';
  return `| ${[
    cell(target.name),
    `${STATUS_ICON[target.status]} ${target.status}`,
    String(c.added.length),
    String(c.updated.length),
    String(c.deleted.length),
    String(c.renamed.length),
    String(c.kept.length),
    formatBytes(target.bytes),
    formatDuration(targetDurationMs(target)),
    failure,
  ].join(' | ')} |`;
}

/** One table per wave: status, change counts, bytes, duration and the failed step of each target. */
function waveTables(report: Report): string {
  const out: string[] = [];
  const waves = byWave(report);
  for (const { wave, targets } of waves) {
    out.push(`### Wave ${wave + 1} of ${Math.max(report.waves.length, waves.length)}`, '');
    out.push(
      '| Target | Status | Added | Updated | Deleted | Renamed | Kept | Bytes | Duration | Failed step |',
    );
    out.push('| --- | --- | --: | --: | --: | --: | --: | --: | --: | --- |');
    for (const target of targets) out.push(targetRow(target));
    out.push('');
  }
  return out.join('\n').trimEnd();
}

/** `YYYY-MM-DD HH:mm:ss.SSS` in UTC: a format mermaid's date parser reads strictly. */
function ganttTime(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').replace('Z', '');
}

interface Bar {
  label: string;
  tags: string[];
  start: number;
  end: number;
}

/** Step bars of one target; a step without `startedAt` starts where the previous one ended. */
function stepBars(target: TargetReport, fallbackStart: number): Bar[] {
  const bars: Bar[] = [];
  let cursor = fallbackStart;
  for (const step of target.steps) {
    const parsed = step.startedAt ? Date.parse(step.startedAt) : NaN;
    const start = Number.isFinite(parsed) ? parsed : cursor;
    const end = start + Math.max(1, step.durationMs);
    cursor = end;
    if (step.status === 'skipped') continue;
    bars.push({ label: step.name, tags: step.status === 'failed' ? ['crit', 'done'] : ['done'], start, end });
  }
  return bars;
}

/**
 * A mermaid `gantt` chart of the rollout: one section per target, one bar per
 * step (failed steps in red). Large fleets get one bar per target; very large
 * ones no chart. Returns '' when there is nothing to draw (a plan, or no
 * target ran a step).
 */
export function timelineMermaid(report: Report): string {
  // A plan only reads: its lock and plan steps take milliseconds and make no useful picture.
  if (report.command === 'plan') return '';
  const targets = report.targets.filter((t) => t.steps.length > 0);
  if (targets.length === 0 || targets.length > TIMELINE_TARGET_LIMIT) return '';
  const origin = Date.parse(report.startedAt);
  const start = Number.isFinite(origin) ? origin : 0;
  const perStep = targets.length <= TIMELINE_STEP_LIMIT;
  const lines = [
    'gantt',
    `  title diffship ${verbFor(report)} ${shortSha(report.to)} (UTC)`,
    '  dateFormat YYYY-MM-DD HH:mm:ss.SSS',
    '  axisFormat %H:%M:%S',
  ];
  for (const target of targets) {
    const bars = stepBars(target, start);
    if (bars.length === 0) continue;
    lines.push(`  section ${target.name}`);
    if (perStep) {
      for (const bar of bars) {
        lines.push(`    ${bar.label} :${[...bar.tags, ganttTime(bar.start), ganttTime(bar.end)].join(', ')}`);
      }
    } else {
      const first = Math.min(...bars.map((b) => b.start));
      const last = Math.max(...bars.map((b) => b.end));
      const tags =
        target.status === 'failed' ||
        target.status === 'rolled-back' ||
        target.status === 'rollback-unhealthy'
          ? ['crit', 'done']
          : ['done'];
      lines.push(`    ${target.status} :${[...tags, ganttTime(first), ganttTime(last)].join(', ')}`);
    }
  }
  if (lines.length === 4) return '';
  return lines.join('\n');
}

function pathList(paths: readonly string[], limit = LIST_LIMIT): string {
  const shown = paths.slice(0, limit).map((p) => `- ${inlinePath(p)}`);
  if (paths.length > limit) shown.push(`- … and ${paths.length - limit} more (see the report artifact)`);
  return shown.join('\n');
}

/** Collapsed per-target lists of drifted and kept files; '' when there are none. */
function driftAndKept(report: Report): string {
  const out: string[] = [];
  for (const target of report.targets) {
    if (target.changes.drift.length > 0) {
      out.push(
        `<details><summary>Drift on ${cell(target.name)}: ${target.changes.drift.length} file(s) changed on the target by hand</summary>`,
        '',
        pathList(target.changes.drift),
        '',
        '</details>',
      );
    }
  }
  for (const target of report.targets) {
    if (target.changes.kept.length > 0) {
      out.push(
        `<details><summary>Kept on ${cell(target.name)}: ${target.changes.kept.length} file(s) deleted by the release but left in place (additive mode)</summary>`,
        '',
        pathList(target.changes.kept),
        '',
        '</details>',
      );
    }
  }
  return out.join('\n');
}

/**
 * The job summary of a plan, deploy or rollback.
 *
 * @example core.summary.addRaw(summaryMarkdown(report)).write()
 */
export function summaryMarkdown(report: Report): string {
  const parts = [heading(report)];
  if (report.targets.length === 0) {
    parts.push('No target matched the selection.');
  } else {
    parts.push(waveTables(report));
  }
  const errors = report.targets.filter((t) => t.error);
  if (errors.length > 0) {
    parts.push(
      '### Failures',
      errors.map((t) => `- **${cell(t.name)}**: ${codeSpan(oneLine(t.error ?? '', 300))}`).join('\n'),
    );
  }
  const timeline = timelineMermaid(report);
  if (timeline) parts.push('### Timeline', fenced('mermaid', timeline));
  const lists = driftAndKept(report);
  if (lists) parts.push(lists);
  const units = unitsMarkdown(report);
  if (units) parts.push('### Units', units);
  parts.push(
    `<sub>deploy id ${codeSpan(report.deployId)} · started ${report.startedAt} · finished ${report.finishedAt}</sub>`,
  );
  return parts.join('\n\n') + '\n';
}

/** One row of `diffship status`, flattened to what a table can show. */
export type StatusRow = Record<string, string | number | boolean | null | undefined>;

/**
 * The job summary of `command: status`: one table row per target, columns from the rows' keys.
 * Values come from the targets (state, lock owner, errors): plain only when nothing in them
 * can render as markdown, errors always as code.
 */
export function statusMarkdown(rows: readonly StatusRow[]): string {
  const lines = ['## diffship status', ''];
  if (rows.length === 0) return [...lines, 'No target matched the selection.', ''].join('\n');
  const columns = [...new Set(rows.flatMap((row) => Object.keys(row)))];
  lines.push(`| ${columns.map(cell).join(' | ')} |`, `| ${columns.map(() => '---').join(' | ')} |`);
  for (const row of rows) {
    lines.push(`| ${columns.map((c) => statusCell(c, row[c])).join(' | ')} |`);
  }
  return lines.join('\n') + '\n';
}

function statusCell(column: string, value: StatusRow[string]): string {
  const text = value === null || value === undefined ? '' : String(value);
  return column === 'Error' ? tableCode(text) : tableText(text);
}
