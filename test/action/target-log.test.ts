import { describe, expect, it } from 'vitest';
import { TargetLog, type GroupSink } from '../../src/action/target-log.js';
import type { RolloutEvent } from '../../src/rollout/events.js';
import { deployReport, failedCanaryReport, planReport } from './fixtures.js';

/**
 * Records what the runner would print, with ::group:: lines as the runner's commands.
 * The inert block around a group's body (`::stop-commands::T` … `::T::`) is checked and left out.
 */
function recorder(): { sink: GroupSink; out: string[] } {
  const out: string[] = [];
  let token: string | null = null;
  return {
    out,
    sink: {
      startGroup: (title) => out.push(`::group::${title}`),
      info: (line) => {
        const stop = /^::stop-commands::([0-9a-f]{32})$/.exec(line);
        if (stop && token === null) token = stop[1]!;
        else if (token !== null && line === `::${token}::`) token = null;
        else out.push(line);
      },
      warning: (line) => out.push(`::warning::${line}`),
      endGroup: () => {
        expect(token, 'a group ends inside its inert block').toBeNull();
        out.push('::endgroup::');
      },
    },
  };
}

describe('TargetLog', () => {
  it('prints each target as one group when it ends, even when parallel targets interleave', () => {
    const { sink, out } = recorder();
    const log = new TargetLog(sink);
    const report = deployReport();
    const [a, b, c] = report.targets;
    const events: RolloutEvent[] = [
      { type: 'start', deployId: 'd-1', to: 'b'.repeat(40), waves: [['b', 'c']] },
      { type: 'wave-start', wave: 1, targets: ['b', 'c'] },
      { type: 'target-start', target: 'b', wave: 1 },
      { type: 'target-start', target: 'c', wave: 1 },
      { type: 'step-start', target: 'b', step: 'lock' },
      { type: 'step-end', target: 'b', step: b!.steps[0]! },
      { type: 'step-end', target: 'c', step: c!.steps[0]! },
      { type: 'check-attempt', target: 'c', check: 'http', attempt: 2, message: '503' },
      { type: 'log', target: 'b', level: 'warn', message: 'drift on hand.xml' },
      { type: 'target-end', target: c! },
      { type: 'step-end', target: 'b', step: b!.steps[2]! },
      { type: 'target-end', target: b! },
      { type: 'target-end', target: b! },
      { type: 'halt', reason: '1 target(s) failed' },
    ];
    for (const e of events) log.handle(e);
    log.finish(report);
    expect(out).toEqual([
      'diffship d-1: shipping bbbbbbbbbbbb in 1 wave(s)',
      'Wave 2: b, c',
      '::group::c: unchanged (wave 2, +0 ~0 -0, 0 B, 1.5s)',
      'c: started (wave 2)',
      '  ✓ lock (5ms)',
      '    http attempt 2: 503',
      '::endgroup::',
      '::group::b: deployed (wave 2, +3 ~0 -1, 1.5 kB, 1.5s)',
      'b: started (wave 2)',
      '  ✓ lock (5ms)',
      '  warning: drift on hand.xml',
      '  ✓ apply (300ms): 3 files',
      '::endgroup::',
      '::warning::Rollout halted: 1 target(s) failed',
      // a never sent events: its group comes from the report.
      `::group::a: deployed (wave 1, +1 ~1 -0, 2.0 kB, 1.5s)`,
      ...a!.steps.map((s) => expect.stringContaining(`✓ ${s.name}`)),
      '::endgroup::',
    ]);
  });

  it('lists the change set of a planned target', () => {
    const { sink, out } = recorder();
    const log = new TargetLog(sink);
    const report = planReport();
    log.handle({ type: 'target-end', target: { ...report.targets[1]!, steps: report.targets[0]!.steps } });
    expect(out).toEqual([
      '::group::b: planned (wave 2, +3 ~0 -1, 0 B, 0ms)',
      '  + new.xml',
      '  + x|y.xml',
      '  + r2.xml (renamed from r1.xml)',
      '  - old.xml',
      '  ! hand.xml (drift)',
      '::endgroup::',
    ]);
  });

  it('adds the error of a failed target and gives late events (rollback: all) a second group', () => {
    const { sink, out } = recorder();
    const log = new TargetLog(sink);
    const report = failedCanaryReport();
    const a = report.targets[0]!;
    log.handle({ type: 'target-end', target: a });
    log.handle({ type: 'log', target: 'a', level: 'info', message: 'restored 1 file' });
    log.finish(report);
    expect(out[0]).toBe('::group::a: rolled-back (wave 1, +1 ~0 -0, 0 B, 2.2s)');
    expect(out).toContain('  error: verify failed: http://localhost:1/health: connection refused');
    expect(out).toContain('::group::a: rolled-back (wave 1, +1 ~0 -0, 0 B, 2.2s) (continued)');
    expect(out).toContain('  restored 1 file');
    // Skipped targets still get a group, with their reason.
    expect(out).toContain('::group::b: skipped (wave 2, +0 ~0 -0, 0 B, 0ms)');
    expect(out).toContain('  error: not started: max-failures reached');
    expect(out.filter((l) => l === '::endgroup::')).toHaveLength(
      out.filter((l) => l.startsWith('::group::')).length,
    );
  });
});
