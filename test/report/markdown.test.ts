import { describe, expect, it } from 'vitest';
import {
  formatBytes,
  formatDuration,
  statusMarkdown,
  summaryMarkdown,
  timelineMermaid,
} from '../../src/report/markdown.js';
import { PLAN_COMMENT_MARKER, planCommentMarkdown } from '../../src/report/plan-comment.js';
import { emptyChanges } from '../../src/report/types.js';
import { deployReport, failedCanaryReport, planReport, steps, target } from '../action/fixtures.js';

/** Rows of the markdown table that follows `heading`. */
function tableAfter(markdown: string, heading: string): string[][] {
  const start = markdown.indexOf(heading);
  expect(start).toBeGreaterThanOrEqual(0);
  const lines = markdown.slice(start).split('\n').slice(2);
  const rows: string[][] = [];
  for (const line of lines.slice(2)) {
    if (!line.startsWith('|')) break;
    rows.push(
      line
        .split(/(?<!\\)\|/)
        .slice(1, -1)
        .map((c) => c.trim()),
    );
  }
  return rows;
}

describe('summaryMarkdown', () => {
  it('has one table per wave with status, counts, bytes, duration and failed step', () => {
    const md = summaryMarkdown(deployReport());
    expect(md).toMatch(/^## ✅ diffship deploy: succeeded/);
    expect(md).toContain('`bbbbbbb`');
    expect(md).toContain('(`v1.4.0`)');
    expect(tableAfter(md, '### Wave 1 of 2')).toEqual([
      ['a', '✅ deployed', '1', '1', '0', '0', '1', '2.0 kB', '1.5s', ''],
    ]);
    const wave2 = tableAfter(md, '### Wave 2 of 2');
    expect(wave2.map((r) => r[0])).toEqual(['b', 'c']);
    expect(wave2[0]?.slice(2, 8)).toEqual(['2', '0', '1', '1', '0', '1.5 kB']);
    expect(wave2[1]?.[1]).toBe('➖ unchanged');
  });

  it('names the failed step and lists the failure', () => {
    const md = summaryMarkdown(failedCanaryReport());
    expect(md).toMatch(/^## ❌ diffship deploy: failed/);
    const [row] = tableAfter(md, '### Wave 1 of 2');
    expect(row?.[1]).toBe('↩️ rolled-back');
    expect(row?.[9]).toBe('verify: `http://localhost:1/health: connection refused`');
    expect(md).toContain('### Failures');
    expect(md).toContain('- **a**: `verify failed: http://localhost:1/health: connection refused`');
  });

  it('collapses the drift and kept lists', () => {
    const md = summaryMarkdown(deployReport());
    expect(md).toMatch(
      /<details><summary>Drift on b: 1 file\(s\)[^<]*<\/summary>\n\n- `hand.xml`\n\n<\/details>/,
    );
    expect(md).toMatch(
      /<details><summary>Kept on a: 1 file\(s\)[^<]*<\/summary>\n\n- `gone.xml`\n\n<\/details>/,
    );
  });

  it('escapes pipes in cells and backticks and newlines in paths', () => {
    const report = deployReport({
      targets: [
        target('a', 0, {
          changes: { ...emptyChanges(), kept: ['a`b.xml', 'new\nline.xml'] },
          steps: steps(0, [['apply', 'failed', 1, 'bad | value\nsecond line']]),
          status: 'failed',
        }),
      ],
    });
    const md = summaryMarkdown(report);
    expect(md).toContain('apply: `bad \\| value second line`');
    expect(md).toContain('- ``a`b.xml``');
    expect(md).toContain('- `"new\\nline.xml"`');
  });

  it('cuts long lists with a pointer to the artifact', () => {
    const kept = Array.from({ length: 120 }, (_, i) => `f${i}.xml`);
    const md = summaryMarkdown(
      deployReport({ targets: [target('a', 0, { changes: { ...emptyChanges(), kept } })] }),
    );
    expect(md).toContain('- `f49.xml`');
    expect(md).not.toContain('- `f50.xml`');
    expect(md).toContain('… and 70 more (see the report artifact)');
  });

  it('says a rollback restored backups instead of naming a release', () => {
    const md = summaryMarkdown(deployReport({ command: 'rollback', to: '' }));
    expect(md).toMatch(/^## ✅ diffship rollback: succeeded\n\n\*\*Release\*\* restored from backup · /);
  });

  it('says so when no target was selected', () => {
    expect(summaryMarkdown(deployReport({ targets: [], waves: [] }))).toContain(
      'No target matched the selection.',
    );
  });
});

describe('timelineMermaid', () => {
  it('draws one section per target and one bar per step, failed steps critical', () => {
    const chart = timelineMermaid(failedCanaryReport());
    const lines = chart.split('\n');
    expect(lines[0]).toBe('gantt');
    expect(lines).toContain('  dateFormat YYYY-MM-DD HH:mm:ss.SSS');
    expect(lines).toContain('  section a');
    expect(lines).toContain('    lock :done, 2025-01-02 03:04:05.000, 2025-01-02 03:04:05.005');
    expect(lines).toContain('    verify :crit, done, 2025-01-02 03:04:05.105, 2025-01-02 03:04:07.105');
    // b and c never ran: no section for them.
    expect(lines).not.toContain('  section b');
  });

  it('is embedded in the summary as a mermaid block', () => {
    const md = summaryMarkdown(deployReport());
    expect(md).toContain('### Timeline\n\n```mermaid\ngantt\n');
    const sections = md.match(/^ {2}section .+$/gm);
    expect(sections).toEqual(['  section a', '  section b', '  section c']);
  });

  it('gives a zero-length step a visible bar and places steps without startedAt after the previous one', () => {
    const report = deployReport({
      targets: [
        target('a', 0, {
          steps: [
            { name: 'lock', status: 'ok', durationMs: 0, detail: '' },
            { name: 'apply', status: 'ok', durationMs: 10, detail: '' },
          ],
        }),
      ],
    });
    const lines = timelineMermaid(report).split('\n');
    expect(lines).toContain('    lock :done, 2025-01-02 03:04:05.000, 2025-01-02 03:04:05.001');
    expect(lines).toContain('    apply :done, 2025-01-02 03:04:05.001, 2025-01-02 03:04:05.011');
  });

  it('draws one bar per target for a large fleet, and nothing for a plan', () => {
    const many = Array.from({ length: 60 }, (_, i) =>
      target(`t${i}`, 0, {
        steps: steps(Date.parse('2025-01-02T03:04:05.000Z'), [
          ['apply', 'ok', 10],
          ['verify', 'ok', 10],
        ]),
      }),
    );
    const lines = timelineMermaid(deployReport({ targets: many })).split('\n');
    expect(lines.filter((l) => l.startsWith('    '))).toHaveLength(60);
    expect(lines).toContain('    deployed :done, 2025-01-02 03:04:05.000, 2025-01-02 03:04:05.020');
    // A plan with lock/plan steps still gets no chart.
    const plan = { ...deployReport(), command: 'plan' as const, status: 'planned' as const };
    expect(timelineMermaid(plan)).toBe('');
    expect(summaryMarkdown(plan)).not.toContain('```mermaid');
  });
});

describe('planCommentMarkdown', () => {
  it('starts with the marker and shows each target Terraform-plan style', () => {
    const body = planCommentMarkdown(planReport(), {
      key: 'diffship.yml',
      runUrl: 'https://github.com/o/r/actions/runs/1',
    });
    const lines = body.split('\n');
    expect(lines[0]).toBe(PLAN_COMMENT_MARKER);
    expect(lines[1]).toBe('<!-- diffship-plan-key: diffship.yml -->');
    expect(body).toContain('### 📝 diffship plan for `bbbbbbb` (`v1.4.0`)');
    expect(body).toContain('**3** target(s) in **2** wave(s), mode **additive**: 2 with changes, 1 without.');
    expect(body).toContain('<b>a</b> (wave 1, ∅ → bbbbbbb): 1 to add, 1 to update, 0 to delete, 1 kept');
    expect(body).toContain(
      '```diff\n+ new.xml\n~ b.xml\n# gone.xml  (kept: deleted by the release, left in place)\n```',
    );
    expect(body).toContain(
      '```diff\n+ new.xml\n+ x|y.xml\n+ r2.xml  (renamed from r1.xml, old path kept)\n- old.xml\n! hand.xml  (drift: changed on the target by hand)\n```',
    );
    expect(body).toContain('<b>c</b> (wave 2, ∅ → bbbbbbb): no changes');
    expect(body).toContain('[workflow run](https://github.com/o/r/actions/runs/1)');
  });

  it('reports a deploy as what was done, with the error', () => {
    const body = planCommentMarkdown(failedCanaryReport());
    expect(body).toContain('### ❌ diffship deploy of `bbbbbbb` (`v1.4.0`): failed');
    expect(body).toContain('> `verify failed: http://localhost:1/health: connection refused`');
  });

  it('says when a target was planned from its manifest', () => {
    const report = planReport();
    const note = `planned from the manifest: release ${'c'.repeat(40)} is not in this repository`;
    report.targets = [
      target('a', 0, { status: 'planned', note, changes: { ...emptyChanges(), added: ['x.car'] } }),
    ];
    expect(planCommentMarkdown(report)).toContain(`_${note}_`);
  });

  it('uses a longer fence when a path holds backticks', () => {
    const report = planReport();
    report.targets = [
      target('a', 0, { status: 'planned', changes: { ...emptyChanges(), added: ['```evil'] } }),
    ];
    expect(planCommentMarkdown(report)).toContain('````diff\n+ ```evil\n````');
  });

  it('stays under GitHub’s comment size limit by leaving whole targets out', () => {
    const added = Array.from({ length: 50 }, (_, i) => `${'long/'.repeat(30)}file-${i}.xml`);
    const report = planReport();
    report.targets = Array.from({ length: 60 }, (_, i) =>
      target(`t${i}`, 0, { status: 'planned', changes: { ...emptyChanges(), added } }),
    );
    const body = planCommentMarkdown(report);
    expect(body.length).toBeLessThanOrEqual(60_001);
    expect(body).toMatch(/… \d+ more target\(s\) left out: the full plan is in the report artifact\./);
    expect(body.startsWith(PLAN_COMMENT_MARKER)).toBe(true);
  });
});

describe('statusMarkdown', () => {
  it('makes a table from the rows', () => {
    const md = statusMarkdown([
      { name: 'a', release: 'abc', locked: false },
      { name: 'b', release: null, note: 'x|y' },
    ]);
    expect(md).toContain('| name | release | locked | note |');
    expect(md).toContain('| a | abc | false |  |');
    expect(md).toContain('| b |  |  | `x\\|y` |');
  });
});

describe('formatting', () => {
  it('formats bytes and durations', () => {
    expect(formatBytes(999)).toBe('999 B');
    expect(formatBytes(2048)).toBe('2.0 kB');
    expect(formatBytes(12_345_678)).toBe('12 MB');
    expect(formatDuration(850)).toBe('850ms');
    expect(formatDuration(1500)).toBe('1.5s');
    expect(formatDuration(125_000)).toBe('2m5s');
    expect(formatDuration(120_000)).toBe('2m');
  });
});
