/** The summary table printed at the end of plan/deploy/rollback. Pure: report in, text out. */
import type { Report, TargetReport } from './types.js';
import { unitsLine } from './units.js';
import { formatBytes, formatCompactDuration, targetDurationMs } from './format.js';

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
  if (status === 'failed') return p.red;
  if (status === 'rolled-back') return p.yellow;
  return p.dim;
}

/** One row per target, then a status line. Colour via `paint` (identity off a TTY). */
export function renderSummary(report: Report, paint: Paint = plain): string {
  const header = [
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
    'ERROR',
  ];
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
    formatCompactDuration(targetDurationMs(t)),
    (t.error ?? '').split('\n')[0]!.slice(0, 100),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[], color?: (s: string) => string) =>
    cells
      .map((c, i) => {
        const padded = i === cells.length - 1 ? c : c.padEnd(widths[i]!);
        return i === 2 && color ? color(padded) : padded;
      })
      .join('  ')
      .trimEnd();
  const out = [paint.bold(line(header))];
  report.targets.forEach((t, i) => out.push(line(rows[i]!, statusColor(t.status, paint))));
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
  out.push(
    `${verdict(report.status)}: ${report.command}${release}, ${report.mode} — ${tally || 'no targets'}`,
  );
  return out.join('\n');
}
