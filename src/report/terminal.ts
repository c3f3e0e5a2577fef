/** The summary table printed at the end of plan/deploy/rollback. Pure: report in, text out. */
import type { Report, TargetReport } from './types.js';
import { formatBytes, formatDuration, targetDurationMs } from './format.js';
import { failureDetails } from './failures.js';
import { unitsLine } from './units.js';

export interface Paint {
  green(s: string): string;
  red(s: string): string;
  yellow(s: string): string;
  dim(s: string): string;
  bold(s: string): string;
}

const plain: Paint = { green: (s) => s, red: (s) => s, yellow: (s) => s, dim: (s) => s, bold: (s) => s };

function statusColor(status: TargetReport['status'], p: Paint): (s: string) => string {
  if (status === 'deployed' || status === 'planned') return p.green;
  if (status === 'failed' || status === 'rollback-unhealthy') return p.red;
  if (status === 'rolled-back') return p.yellow;
  return p.dim;
}

const HEADER = [
  'TARGET',
  'WAVE',
  'STATUS',
  'ADDED',
  'UPDATED',
  'DELETED',
  'RENAMED',
  'KEPT',
  'DRIFT',
  'BYTES',
  'TIME',
] as const;
/** Count columns that may be left out, when every target has 0 there, to fit the width. */
const OPTIONAL = new Set(['RENAMED', 'KEPT', 'DRIFT', 'DELETED']);

export interface SummaryOptions {
  /** Widest line allowed (the terminal's width; 80 off a terminal). */
  width?: number;
}

/**
 * One row per target, a status line, then each failed target's whole error
 * and the last lines of the failed hook's or check's output. Colour via
 * `paint` (identity off a TTY). The table fits `width` (default 80): the gap
 * narrows first, then all-zero count columns go, then long names are cut.
 */
export function renderSummary(report: Report, paint: Paint = plain, options: SummaryOptions = {}): string {
  const width = Math.max(40, options.width ?? 80);
  const rows = report.targets.map((t) => [
    t.name,
    String(t.wave + 1),
    t.status,
    String(t.changes.added.length),
    String(t.changes.updated.length),
    String(t.changes.deleted.length),
    String(t.changes.renamed.length),
    String(t.changes.kept.length),
    String(t.changes.drift.length),
    formatBytes(t.bytes),
    formatDuration(targetDurationMs(t)),
  ]);
  let columns: number[] = HEADER.map((_, i) => i);
  const widthOf = (cols: number[], gap: number) =>
    cols.reduce((sum, i) => sum + Math.max(HEADER[i]!.length, ...rows.map((r) => r[i]!.length)), 0) +
    gap * (cols.length - 1);
  let gap = 2;
  if (widthOf(columns, gap) > width) gap = 1;
  if (widthOf(columns, gap) > width)
    columns = columns.filter((i) => !OPTIONAL.has(HEADER[i]!) || rows.some((r) => r[i] !== '0'));
  const widths = HEADER.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const over = widthOf(columns, gap) - width;
  // Still too wide: cut the names (the failure list below gives them whole).
  if (over > 0) widths[0] = Math.max(6, widths[0]! - over);
  const cell = (text: string, i: number) =>
    text.length > widths[i]! ? `${text.slice(0, widths[i]! - 1)}…` : text.padEnd(widths[i]!);
  const line = (cells: readonly string[], color?: (s: string) => string) =>
    columns
      .map((i) => (i === 2 && color ? color(cell(cells[i]!, i)) : cell(cells[i]!, i)))
      .join(' '.repeat(gap))
      .trimEnd();
  const out = [paint.bold(line(HEADER))];
  report.targets.forEach((t, i) => out.push(line(rows[i]!, statusColor(t.status, paint))));
  // How a plan was made when not from the recorded commit (rewritten history, --assume-empty).
  for (const t of report.targets) if (t.note) out.push(paint.dim(`${t.name}: ${t.note}`));
  for (const t of report.targets) {
    const units = unitsLine(t);
    if (units) out.push(paint.dim(`${t.name} ${units}`));
  }
  const counts = new Map<string, number>();
  for (const t of report.targets) counts.set(t.status, (counts.get(t.status) ?? 0) + 1);
  const tally = [...counts].map(([s, n]) => `${n} ${s}`).join(', ');
  const verdict = report.status === 'succeeded' || report.status === 'planned' ? paint.green : paint.red;
  const release = report.to ? ` ${report.ref} (${report.to.slice(0, 12)})` : '';
  out.push('');
  const [first = '', ...more] = wrap(
    `${report.status}: ${report.command}${release}, ${report.mode} — ${tally || 'no targets'}`,
    width,
    '    ',
  );
  out.push(`${verdict(report.status)}${first.slice(report.status.length)}`, ...more);
  const failures = failureDetails(report);
  if (failures.length > 0) {
    out.push('');
    for (const f of failures) {
      // Whole, never cut: wrapped at the width instead, continuation lines indented.
      const [first = '', ...more] = wrap(`${f.target} ${f.status}: ${f.error}`, width, '    ');
      const head = `${f.target} ${f.status}`;
      out.push(
        `${paint.bold(f.target)} ${statusColor(f.status, paint)(f.status)}${first.slice(head.length)}`,
      );
      out.push(...more);
      for (const l of f.output) out.push(...wrap(`  │ ${l}`, width, '  │   ').map(paint.dim));
    }
  }
  return out.join('\n');
}

/** `text` cut into lines of at most `width` characters, at spaces where it can; later lines start with `indent`. */
function wrap(text: string, width: number, indent: string): string[] {
  const lines: string[] = [];
  let rest = text;
  let prefix = '';
  while (prefix.length + rest.length > width) {
    const room = width - prefix.length;
    const space = rest.lastIndexOf(' ', room);
    const cut = space > room / 2 ? space : room;
    lines.push(prefix + rest.slice(0, cut).trimEnd());
    rest = rest.slice(cut).trimStart();
    prefix = indent;
  }
  lines.push(prefix + rest);
  return lines;
}
