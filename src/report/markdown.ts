/**
 * Markdown renderings of a report, pure: the job summary (tables per wave, a
 * mermaid timeline, collapsed drift and kept lists) and the pull-request plan
 * comment (Terraform-plan style). Both are plain strings, so they are tested
 * without a runner and could be posted anywhere GitHub renders markdown.
 */
import { unitsLine, unitsMarkdown } from './units.js';
import type { Report, StepReport, TargetReport, TargetStatus } from './types.js';
import { formatBytes, formatDuration, targetDurationMs } from './format.js';

export { formatBytes, formatDuration, targetDurationMs };

/** First line of every plan comment; the action finds its own earlier comment by it. */
export const PLAN_COMMENT_MARKER = '<!-- diffship-plan -->';

/** GitHub refuses comments above 65,536 characters; stay well under it. */
const COMMENT_LIMIT = 60_000;
/** Paths listed per category and target before "… and N more". */
const LIST_LIMIT = 50;
/** Above this many targets the timeline draws one bar per target instead of one per step. */
const TIMELINE_STEP_LIMIT = 40;
/** Above this many targets the timeline is left out (mermaid stops rendering long charts). */
const TIMELINE_TARGET_LIMIT = 200;

const STATUS_ICON: Record<TargetStatus, string> = {
  deployed: '✅',
  unchanged: '➖',
  failed: '❌',
  'rolled-back': '↩️',
  skipped: '⏭️',
  planned: '📝',
};

const ROLLOUT_ICON: Record<Report['status'], string> = {
  succeeded: '✅',
  failed: '❌',
  cancelled: '⛔',
  planned: '📝',
};

/** One table cell: pipes escaped, line breaks flattened (a path may hold both). */
function cell(text: string): string {
  return text
    .replace(/\\/g, '\\\\')
    .replace(/\|/g, '\\|')
    .replace(/\r?\n|\r/g, ' ');
}

/** Control characters (a newline in a file name): such paths are shown JSON-escaped. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f]/;

/** A path in inline code that survives backticks and line breaks in the name. */
function inlinePath(path: string): string {
  const shown = CONTROL.test(path) ? JSON.stringify(path) : path;
  const ticks = '`'.repeat(longestRun(shown, '`') + 1);
  const pad = shown.startsWith('`') || shown.endsWith('`') ? ' ' : '';
  return `${ticks}${pad}${shown}${pad}${ticks}`;
}

function longestRun(text: string, char: string): number {
  let best = 0;
  let run = 0;
  for (const c of text) {
    run = c === char ? run + 1 : 0;
    best = Math.max(best, run);
  }
  return best;
}

/** A fenced block whose fence is longer than any backtick run inside it. */
function fenced(lang: string, body: string): string {
  const fence = '`'.repeat(Math.max(3, longestRun(body, '`') + 1));
  return `${fence}${lang}\n${body}\n${fence}`;
}

/** A path on one line of a code block: control characters shown JSON-escaped. */
function linePath(path: string): string {
  return CONTROL.test(path) ? JSON.stringify(path) : path;
}

function shortSha(sha: string | null): string {
  return sha ? sha.slice(0, 7) : '∅';
}

/** The first failed step other than the rollback that cleaned up after it. */
export function failedStep(target: TargetReport): StepReport | undefined {
  return (
    target.steps.find((s) => s.status === 'failed' && s.name !== 'rollback') ??
    target.steps.find((s) => s.status === 'failed')
  );
}

function oneLine(text: string, max = 120): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
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

function verbFor(report: Report): string {
  if (report.command === 'plan') return 'plan';
  if (report.command === 'rollback') return 'rollback';
  return 'deploy';
}

/** The heading line: what ran, how it ended, which release. */
function heading(report: Report): string {
  const lines = [`## ${ROLLOUT_ICON[report.status]} diffship ${verbFor(report)}: ${report.status}`, ''];
  const ref = report.ref && report.ref !== report.to ? ` (${inlinePath(report.ref)})` : '';
  const changed = report.targets.filter((t) => t.status === 'deployed' || t.status === 'planned').length;
  const failed = report.targets.filter((t) => t.status === 'failed' || t.status === 'rolled-back').length;
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
  const failure = failed ? `${failed.name}${failed.detail ? `: ${oneLine(failed.detail, 80)}` : ''}` : '';
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
    cell(failure),
  ].join(' | ')} |`;
}

/** One table per wave: status, change counts, bytes, duration and the failed step of each target. */
export function waveTables(report: Report): string {
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
        target.status === 'failed' || target.status === 'rolled-back' ? ['crit', 'done'] : ['done'];
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
export function driftAndKept(report: Report): string {
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
      errors.map((t) => `- **${cell(t.name)}**: ${cell(oneLine(t.error ?? '', 300))}`).join('\n'),
    );
  }
  const timeline = timelineMermaid(report);
  if (timeline) parts.push('### Timeline', fenced('mermaid', timeline));
  const lists = driftAndKept(report);
  if (lists) parts.push(lists);
  const units = unitsMarkdown(report);
  if (units) parts.push('### Units', units);
  parts.push(
    `<sub>deploy id \`${report.deployId}\` · started ${report.startedAt} · finished ${report.finishedAt}</sub>`,
  );
  return parts.join('\n\n') + '\n';
}

/** Lines of one target's change set, Terraform-plan style (`+` add, `~` update, `-` delete). */
function planLines(target: TargetReport, mode: Report['mode']): string[] {
  const c = target.changes;
  const lines: string[] = [];
  const section = (prefix: string, items: string[]) => {
    for (const item of items.slice(0, LIST_LIMIT)) lines.push(`${prefix} ${item}`);
    if (items.length > LIST_LIMIT) lines.push(`${prefix} … and ${items.length - LIST_LIMIT} more`);
  };
  section('+', c.added.map(linePath));
  section('~', c.updated.map(linePath));
  section(
    '+',
    c.renamed.map(
      (r) =>
        `${linePath(r.to)}  (renamed from ${linePath(r.from)}${mode === 'additive' ? ', old path kept' : ''})`,
    ),
  );
  section('-', c.deleted.map(linePath));
  section(
    '#',
    c.kept.map((p) => `${linePath(p)}  (kept: deleted by the release, left in place)`),
  );
  section(
    '!',
    c.drift.map((p) => `${linePath(p)}  (drift: changed on the target by hand)`),
  );
  return lines;
}

function planSummaryLine(target: TargetReport): string {
  const c = target.changes;
  const parts = [
    `${c.added.length + c.renamed.length} to add`,
    `${c.updated.length} to update`,
    `${c.deleted.length} to delete`,
  ];
  if (c.kept.length) parts.push(`${c.kept.length} kept`);
  if (c.drift.length) parts.push(`${c.drift.length} drifted`);
  return parts.join(', ');
}

export interface PlanCommentOptions {
  /** Identifies the config, so two diffship steps on one PR keep separate comments. */
  key?: string;
  /** A link to the workflow run, shown at the bottom. */
  runUrl?: string;
}

/** The hidden line that tells this config's comment apart from another config's. */
export function planCommentKeyLine(key: string): string {
  return `<!-- diffship-plan-key: ${key.replace(/-->/g, '--&gt;')} -->`;
}

/**
 * The pull-request comment: per target, what would be (plan) or was (deploy)
 * added, updated, deleted and kept, Terraform-plan style, starting with
 * PLAN_COMMENT_MARKER so the next run updates it instead of adding another.
 */
export function planCommentMarkdown(report: Report, options: PlanCommentOptions = {}): string {
  const head = [PLAN_COMMENT_MARKER];
  if (options.key) head.push(planCommentKeyLine(options.key));
  const ref = report.ref && report.ref !== report.to ? ` (${inlinePath(report.ref)})` : '';
  const title =
    report.command === 'plan'
      ? `### 📝 diffship plan for \`${shortSha(report.to)}\`${ref}`
      : `### ${ROLLOUT_ICON[report.status]} diffship ${verbFor(report)} of \`${shortSha(report.to)}\`${ref}: ${report.status}`;
  head.push(title, '');
  const changing = report.targets.filter((t) => hasChanges(t));
  head.push(
    `**${report.targets.length}** target(s) in **${report.waves.length}** wave(s), mode **${report.mode}**: ` +
      `${changing.length} with changes, ${report.targets.length - changing.length} without.`,
    '',
  );
  const bodies: string[] = [];
  for (const target of report.targets) {
    const lines = planLines(target, report.mode);
    const summary = `${STATUS_ICON[target.status]} <b>${escapeHtml(target.name)}</b> (wave ${target.wave + 1}, ${shortSha(target.from)} → ${shortSha(target.to)}): ${lines.length ? planSummaryLine(target) : 'no changes'}`;
    const units = unitsLine(target);
    const error =
      (units ? `\n\n${cell(units)}` : '') + (target.error ? `\n\n> ${oneLine(target.error, 300)}` : '');
    bodies.push(
      lines.length
        ? `<details${changing.length <= 5 ? ' open' : ''}><summary>${summary}</summary>\n\n${fenced('diff', lines.join('\n'))}${error}\n\n</details>`
        : `${summary}${error}`,
    );
  }
  const foot = [
    '',
    '<sub>`+` add · `~` update · `-` delete · `#` kept (additive mode) · `!` drift' +
      (options.runUrl ? ` · [workflow run](${options.runUrl})` : '') +
      '</sub>',
  ];
  let text = [...head, bodies.join('\n\n'), ...foot].join('\n');
  if (text.length > COMMENT_LIMIT) {
    // Drop whole targets from the end rather than cutting markdown in half.
    let kept = bodies.length;
    while (kept > 0 && text.length > COMMENT_LIMIT) {
      kept--;
      const note = `\n\n… ${bodies.length - kept} more target(s) left out: the full plan is in the report artifact.`;
      text = [...head, bodies.slice(0, kept).join('\n\n') + note, ...foot].join('\n');
    }
  }
  return text + '\n';
}

function hasChanges(target: TargetReport): boolean {
  const c = target.changes;
  return c.added.length + c.updated.length + c.deleted.length + c.renamed.length > 0;
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** One row of `diffship status`, flattened to what a table can show. */
export type StatusRow = Record<string, string | number | boolean | null | undefined>;

/** The job summary of `command: status`: one table row per target, columns from the rows' keys. */
export function statusMarkdown(rows: readonly StatusRow[]): string {
  const lines = ['## diffship status', ''];
  if (rows.length === 0) return [...lines, 'No target matched the selection.', ''].join('\n');
  const columns = [...new Set(rows.flatMap((row) => Object.keys(row)))];
  lines.push(`| ${columns.map(cell).join(' | ')} |`, `| ${columns.map(() => '---').join(' | ')} |`);
  for (const row of rows) {
    lines.push(
      `| ${columns.map((c) => cell(row[c] === null || row[c] === undefined ? '' : String(row[c]))).join(' | ')} |`,
    );
  }
  return lines.join('\n') + '\n';
}
