/**
 * The pull-request plan comment (Terraform-plan style), pure: a plain string the
 * action posts or updates, found again by PLAN_COMMENT_MARKER and the config's key line.
 */
import type { Report, TargetReport } from './types.js';
import { unitsLine } from './units.js';
import { codeSpan, escapeHtml, fenced, inlinePath, linePath } from './md-safe.js';
import { LIST_LIMIT, ROLLOUT_ICON, STATUS_ICON, oneLine, shortSha, verbFor } from './md-shared.js';

/** First line of every plan comment; the action finds its own earlier comment by it. */
export const PLAN_COMMENT_MARKER = '<!-- diffship-plan -->';

/** GitHub refuses comments above 65,536 characters; stay well under it. */
const COMMENT_LIMIT = 60_000;

/** Lines of one target's change set, Terraform-plan style (`+` add, `~` update, `-` delete). */
function planLines(target: TargetReport, mode: Report['mode']): string[] {
  const c = target.changes;
  const lines: string[] = [];
  // Only the lines shown are formatted: an authoritative plan may delete 300,000 strays.
  const section = <T>(prefix: string, items: readonly T[], format: (item: T) => string) => {
    for (const item of items.slice(0, LIST_LIMIT)) lines.push(`${prefix} ${format(item)}`);
    if (items.length > LIST_LIMIT) lines.push(`${prefix} … and ${items.length - LIST_LIMIT} more`);
  };
  section('+', c.added, linePath);
  section('~', c.updated, linePath);
  section(
    '+',
    c.renamed,
    (r) =>
      `${linePath(r.to)}  (renamed from ${linePath(r.from)}${mode === 'additive' ? ', old path kept' : ''})`,
  );
  section('-', c.deleted, linePath);
  section('#', c.kept, (p) => `${linePath(p)}  (kept: deleted by the release, left in place)`);
  section('!', c.drift, (p) => `${linePath(p)}  (drift: changed on the target by hand)`);
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
    const summary = `${STATUS_ICON[target.status]} <b>${escapeHtml(target.name)}</b> (wave ${target.wave + 1}, ${escapeHtml(shortSha(target.from))} → ${escapeHtml(shortSha(target.to))}): ${lines.length ? planSummaryLine(target) : 'no changes'}`;
    const note = target.note ? `\n\n_${escapeHtml(oneLine(target.note, 300))}_` : '';
    // Unit names come from the release's file names: a code span, never markup.
    const units = unitsLine(target);
    const unitLine = units ? `\n\n${codeSpan(oneLine(units, 300))}` : '';
    const error = `${note}${unitLine}${target.error ? `\n\n> ${codeSpan(oneLine(target.error, 300))}` : ''}`;
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
