import { describe, expect, it } from 'vitest';
import {
  emptyOutputs,
  failedOnItsOwn,
  failureAnnotations,
  failureMessage,
  reportOutputs,
  waveMatrix,
} from '../../src/action/outputs.js';
import { emptyChanges } from '../../src/report/types.js';
import { deployReport, failedCanaryReport, planReport, steps, target } from './fixtures.js';

describe('reportOutputs', () => {
  it('unions the paths over the targets that took the change, sorted and deduplicated', () => {
    const out = reportOutputs(deployReport(), '/tmp/r.json');
    expect(out.status).toBe('succeeded');
    expect(out.changed).toBe('true');
    expect(JSON.parse(out.added)).toEqual(['new.xml', 'x|y.xml']);
    expect(JSON.parse(out.updated)).toEqual(['b.xml']);
    expect(JSON.parse(out.deleted)).toEqual(['old.xml']);
    expect(JSON.parse(out.renamed)).toEqual(['r2.xml']);
    expect(JSON.parse(out['deployed-targets'])).toEqual(['a', 'b']);
    expect(JSON.parse(out['failed-targets'])).toEqual([]);
    expect(out.report).toBe('/tmp/r.json');
  });

  it('emits the plan waves as a job matrix', () => {
    const out = reportOutputs(deployReport(), 'r.json');
    expect(JSON.parse(out.matrix)).toEqual({
      include: [
        { wave: 0, targets: 'a' },
        { wave: 1, targets: 'b,c' },
      ],
    });
  });

  it('says changed=false when every target was unchanged', () => {
    const report = deployReport({
      targets: [target('a', 0, { status: 'unchanged' }), target('b', 1, { status: 'unchanged' })],
    });
    const out = reportOutputs(report, 'r.json');
    expect(out.changed).toBe('false');
    expect(out['deployed-targets']).toBe('[]');
  });

  it('says changed=false for a deployed target with an empty change set (only kept files)', () => {
    const report = deployReport({
      targets: [target('a', 0, { changes: { ...emptyChanges(), kept: ['k'] } })],
    });
    expect(reportOutputs(report, 'r').changed).toBe('false');
  });

  it('leaves out the changes of a target that was rolled back, and lists it as failed', () => {
    const out = reportOutputs(failedCanaryReport(), 'r.json');
    expect(out.status).toBe('failed');
    expect(out.changed).toBe('false');
    expect(out.added).toBe('[]');
    expect(JSON.parse(out['failed-targets'])).toEqual(['a']);
    expect(out['deployed-targets']).toBe('[]');
  });

  it('reports what a plan would change', () => {
    const out = reportOutputs(planReport(), 'r.json');
    expect(out.status).toBe('planned');
    expect(out.changed).toBe('true');
    expect(JSON.parse(out['deployed-targets'])).toEqual(['a', 'b']);
    expect(JSON.parse(out.added)).toEqual(['new.xml', 'x|y.xml']);
  });

  it('counts rolled-back targets of a rollback command as having taken effect', () => {
    const report = deployReport({
      command: 'rollback',
      targets: [target('a', 0, { status: 'rolled-back', changes: { ...emptyChanges(), updated: ['u'] } })],
    });
    const out = reportOutputs(report, 'r');
    expect(out.changed).toBe('true');
    expect(JSON.parse(out['deployed-targets'])).toEqual(['a']);
    expect(out['failed-targets']).toBe('[]');
  });

  it('keeps paths with quotes, newlines and unicode intact through JSON', () => {
    const odd = 'dir/"quoted"\nnew line ü.xml';
    const report = deployReport({
      targets: [target('a', 0, { changes: { ...emptyChanges(), added: [odd] } })],
    });
    expect(JSON.parse(reportOutputs(report, 'r').added)).toEqual([odd]);
  });
});

describe('failedOnItsOwn', () => {
  it('does not count a healthy target rolled back because another failed (rollback: all)', () => {
    const healthy = target('a', 0, {
      status: 'rolled-back',
      steps: steps(0, [
        ['apply', 'ok', 1],
        ['rollback', 'ok', 1],
      ]),
    });
    expect(failedOnItsOwn(healthy)).toBe(false);
    expect(failedOnItsOwn(target('b', 0, { status: 'failed' }))).toBe(true);
  });
});

describe('waveMatrix', () => {
  it('leaves out empty waves', () => {
    expect(waveMatrix({ waves: [['a'], []] })).toEqual({ include: [{ wave: 0, targets: 'a' }] });
  });
});

describe('emptyOutputs', () => {
  it('gives every output a value fromJSON() can read', () => {
    const out = emptyOutputs('failed');
    expect(out.status).toBe('failed');
    for (const name of [
      'added',
      'updated',
      'deleted',
      'renamed',
      'deployed-targets',
      'failed-targets',
    ] as const) {
      expect(JSON.parse(out[name])).toEqual([]);
    }
    expect(JSON.parse(out.matrix)).toEqual({ include: [] });
  });
});

describe('failureAnnotations and failureMessage', () => {
  it('titles the annotation with the target and the step that failed', () => {
    const [annotation, ...rest] = failureAnnotations(failedCanaryReport());
    expect(rest).toHaveLength(0);
    expect(annotation?.title).toBe('diffship: a failed in the verify step (rolled back)');
    expect(annotation?.message).toContain('connection refused');
  });

  it('names the failed targets in one line, and nothing for a success or a plan', () => {
    expect(failureMessage(failedCanaryReport())).toBe(
      'diffship deploy of bbbbbbb failed: 1 of 3 target(s) failed (a)',
    );
    expect(failureMessage(deployReport())).toBeNull();
    expect(failureMessage(planReport())).toBeNull();
    expect(failureMessage(deployReport({ status: 'cancelled' }))).toMatch(/cancelled/);
    // A plan fails too when it cannot inspect a target; the line names the plan, not a deploy.
    expect(failureMessage({ ...failedCanaryReport(), command: 'plan', status: 'failed' })).toBe(
      'diffship plan of bbbbbbb failed: 1 of 3 target(s) failed (a)',
    );
    // A rollback has no release of its own.
    expect(failureMessage({ ...failedCanaryReport(), command: 'rollback', to: '' })).toBe(
      'diffship rollback failed: 1 of 3 target(s) failed (a)',
    );
  });
});
