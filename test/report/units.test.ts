import { describe, expect, it } from 'vitest';
import { summaryMarkdown } from '../../src/report/markdown.js';
import { planCommentMarkdown } from '../../src/report/plan-comment.js';
import { renderSummary } from '../../src/report/terminal.js';
import { unitsLine } from '../../src/report/units.js';
import { emptyChanges, type Report, type TargetReport } from '../../src/report/types.js';

const target = (units: TargetReport['units']): TargetReport => ({
  name: 'is1',
  wave: 0,
  status: 'rolled-back',
  from: 'a'.repeat(40),
  to: 'b'.repeat(40),
  changes: { ...emptyChanges(), updated: ['packages/Orders/manifest.v3'] },
  bytes: 10,
  steps: [],
  error: 'activate Reports: run exited with code 1',
  units,
});

const report = (t: TargetReport): Report => ({
  version: 1,
  deployId: 'd1',
  command: 'deploy',
  status: 'failed',
  to: t.to,
  ref: 'v2',
  mode: 'additive',
  startedAt: '2026-01-01T00:00:00.000Z',
  finishedAt: '2026-01-01T00:00:01.000Z',
  waves: [['is1']],
  targets: [t],
});

const UNITS: TargetReport['units'] = [
  {
    name: 'Old',
    path: 'packages/Old',
    status: 'deleted',
    files: ['packages/Old/manifest.v3'],
    result: 'deactivated',
  },
  {
    name: 'Orders',
    path: 'packages/Orders',
    status: 'updated',
    files: ['packages/Orders/manifest.v3'],
    result: 'activated',
  },
  { name: 'Billing', path: 'packages/Billing', status: 'dependent', files: [], result: 'rolled-back' },
];

describe('units in the report views', () => {
  it('one line in hook order with change marks and unusual results', () => {
    expect(unitsLine(target(UNITS))).toBe(
      'units: deactivate -Old; activate ~Orders → ↻Billing (rolled-back)',
    );
    expect(unitsLine(target(undefined))).toBeNull();
    expect(unitsLine(target([]))).toBeNull();
  });

  it('the job summary has a table per target, the terminal and PR comment a line', () => {
    const r = report(target(UNITS));
    const md = summaryMarkdown(r);
    expect(md).toContain('### Units');
    expect(md).toContain('| 2 | `Orders` | `packages/Orders` | updated | activated | 1 |');
    expect(renderSummary(r)).toContain(
      'is1 units: deactivate -Old; activate ~Orders → ↻Billing (rolled-back)',
    );
    expect(planCommentMarkdown(r)).toContain(
      'units: deactivate -Old; activate ~Orders → ↻Billing (rolled-back)',
    );
    const none = report(target(undefined));
    expect(summaryMarkdown(none)).not.toContain('### Units');
    expect(renderSummary(none)).not.toContain('units:');
  });
});

describe('the action output `units`', () => {
  it('lists per target the units deactivated and activated, in hook order', async () => {
    const { reportOutputs, emptyOutputs } = await import('../../src/action/outputs.js');
    const t = { ...target(UNITS), status: 'deployed' as const };
    expect(JSON.parse(reportOutputs(report(t), 'r.json').units)).toEqual([
      { target: 'is1', deactivate: ['Old'], activate: ['Orders', 'Billing'] },
    ]);
    expect(JSON.parse(reportOutputs(report(target(UNITS)), 'r.json').units)).toEqual([]); // rolled back: no effect
    expect(JSON.parse(reportOutputs(report({ ...t, units: undefined }), 'r.json').units)).toEqual([]);
    expect(emptyOutputs('failed').units).toBe('[]');
  });
});

describe('a per-unit rollback in the report views', () => {
  const HELD: TargetReport = {
    ...target([
      {
        name: 'Orders',
        path: 'packages/Orders',
        status: 'updated',
        files: ['packages/Orders/manifest.v3'],
        result: 'activated',
      },
      {
        name: 'Reports',
        path: 'packages/Reports',
        status: 'updated',
        files: ['packages/Reports/manifest.v3'],
        result: 'rolled-back',
      },
    ]),
    changes: { ...emptyChanges(), updated: ['packages/Orders/manifest.v3', 'packages/Reports/manifest.v3'] },
    heldBack: ['Reports'],
    steps: [{ name: 'activate', unit: 'Reports', status: 'failed', durationMs: 5, detail: 'exit 1' }],
  };

  it('the line, the job summary and the PR comment name the units held back', () => {
    const line = 'units: activate ~Orders → ~Reports (rolled-back); held back: Reports';
    expect(unitsLine(HELD)).toBe(line);
    expect(renderSummary(report(HELD))).toContain(`is1 ${line}`);
    expect(summaryMarkdown(report(HELD))).toContain(
      'Held back at their previous files (the rest of the release stays; the next deploy ships them again): `Reports`',
    );
    expect(summaryMarkdown(report(target(UNITS)))).not.toContain('Held back');
  });

  it('action outputs: the target took the rest of the release, and failed; held-back files are not listed', async () => {
    const { reportOutputs } = await import('../../src/action/outputs.js');
    const o = reportOutputs(report(HELD), 'r.json');
    expect(JSON.parse(o.units)).toEqual([
      { target: 'is1', deactivate: [], activate: ['Orders', 'Reports'], 'held-back': ['Reports'] },
    ]);
    expect(JSON.parse(o.updated)).toEqual(['packages/Orders/manifest.v3']);
    expect(JSON.parse(o['deployed-targets'])).toEqual(['is1']);
    expect(JSON.parse(o['failed-targets'])).toEqual(['is1']);
    expect(o.changed).toBe('true');
  });
});
