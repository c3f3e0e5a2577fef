/**
 * Units in the report views (docs/units.md): which units a deploy touches and
 * the order their hooks run in. Pure: report in, text out.
 */
import type { Report, TargetReport, UnitReport } from './types.js';
import { escapeHtml, inlinePath } from './md-safe.js';

const STATUS_MARK: Record<UnitReport['status'], string> = {
  added: '+',
  updated: '~',
  deleted: '-',
  dependent: '↻',
};

/** `deactivate Old; activate Common → Orders (dependent: Billing)`, or null without units. */
export function unitsLine(target: TargetReport): string | null {
  const units = target.units;
  if (!units || units.length === 0) return null;
  const show = (u: UnitReport) =>
    `${STATUS_MARK[u.status]}${u.name}${u.result === 'planned' || u.result === 'activated' || u.result === 'deactivated' ? '' : ` (${u.result})`}`;
  const off = units.filter((u) => u.status === 'deleted');
  const on = units.filter((u) => u.status !== 'deleted');
  const parts: string[] = [];
  if (off.length) parts.push(`deactivate ${off.map(show).join(' → ')}`);
  if (on.length) parts.push(`activate ${on.map(show).join(' → ')}`);
  // A per-unit rollback: these units went back to their previous files, the rest stayed.
  if (target.heldBack?.length) parts.push(`held back: ${target.heldBack.join(', ')}`);
  return `units: ${parts.join('; ')}`;
}

/** Names and paths come from the release's file names: code spans (never links, HTML or mentions), pipes escaped for the table. */
const cell = (s: string) => inlinePath(s).replace(/\|/g, '\\|');

/** The job summary's units section: one table per target with units, in hook order. */
export function unitsMarkdown(report: Report): string {
  const out: string[] = [];
  for (const t of report.targets) {
    if (!t.units || t.units.length === 0) continue;
    out.push(
      `<details open><summary>Units on ${escapeHtml(t.name)}: ${t.units.length} unit(s), in the order their hooks run</summary>`,
      '',
      '| # | Unit | Path | Change | Result | Files |',
      '| --- | --- | --- | --- | --- | --- |',
      ...t.units.map(
        (u, i) =>
          `| ${i + 1} | ${cell(u.name)} | ${cell(u.path)} | ${u.status} | ${u.result} | ${u.files.length} |`,
      ),
      '',
      ...(t.heldBack?.length
        ? [
            `Held back at their previous files (the rest of the release stays; the next deploy ships them again): ${t.heldBack.map(cell).join(', ')}`,
            '',
          ]
        : []),
      '</details>',
    );
  }
  return out.join('\n');
}
