/** Reports built by hand, shaped like the engine's, for tests of what the action derives from them. */
import type { Report, StepReport, TargetReport } from '../../src/report/types.js';
import type { TargetStatusInfo } from '../../src/rollout/rollout.js';
import { emptyChanges } from '../../src/report/types.js';

const T0 = Date.parse('2025-01-02T03:04:05.000Z');

/** Steps that start one after another from `start` (ms), each `ms` long. */
export function steps(
  start: number,
  list: Array<[StepReport['name'], StepReport['status'], number, string?]>,
): StepReport[] {
  let at = start;
  return list.map(([name, status, ms, detail]) => {
    const step: StepReport = {
      name,
      status,
      durationMs: ms,
      detail: detail ?? '',
      startedAt: new Date(at).toISOString(),
    };
    at += ms;
    return step;
  });
}

export function target(name: string, wave: number, overrides: Partial<TargetReport> = {}): TargetReport {
  return {
    name,
    wave,
    status: 'deployed',
    from: null,
    to: 'b'.repeat(40),
    changes: emptyChanges(),
    bytes: 0,
    steps: [],
    error: null,
    ...overrides,
  };
}

/** A three-target deploy: canary a in wave 0, b and c in wave 1. */
export function deployReport(overrides: Partial<Report> = {}): Report {
  const ok = (at: number) =>
    steps(at, [
      ['lock', 'ok', 5],
      ['plan', 'ok', 20],
      ['apply', 'ok', 300, '3 files'],
      ['verify', 'ok', 1200, 'http 200'],
      ['unlock', 'ok', 3],
    ]);
  return {
    version: 1,
    deployId: 'd-123',
    command: 'deploy',
    status: 'succeeded',
    to: 'b'.repeat(40),
    ref: 'v1.4.0',
    mode: 'additive',
    startedAt: new Date(T0).toISOString(),
    finishedAt: new Date(T0 + 4000).toISOString(),
    waves: [['a'], ['b', 'c']],
    targets: [
      target('a', 0, {
        changes: { ...emptyChanges(), added: ['new.xml'], updated: ['b.xml'], kept: ['gone.xml'] },
        bytes: 2048,
        steps: ok(T0),
      }),
      target('b', 1, {
        from: 'a'.repeat(40),
        changes: {
          ...emptyChanges(),
          added: ['new.xml', 'x|y.xml'],
          deleted: ['old.xml'],
          renamed: [{ from: 'r1.xml', to: 'r2.xml' }],
          drift: ['hand.xml'],
        },
        bytes: 1500,
        steps: ok(T0 + 1600),
      }),
      target('c', 1, { status: 'unchanged', steps: ok(T0 + 1600) }),
    ],
    ...overrides,
  };
}

/** The same fleet where the canary failed its health check and was rolled back; the rest never started. */
export function failedCanaryReport(): Report {
  const base = deployReport();
  return {
    ...base,
    status: 'failed',
    targets: [
      target('a', 0, {
        status: 'rolled-back',
        changes: { ...emptyChanges(), added: ['new.xml'] },
        steps: steps(T0, [
          ['lock', 'ok', 5],
          ['apply', 'ok', 100],
          ['verify', 'failed', 2000, 'http://localhost:1/health: connection refused'],
          ['rollback', 'ok', 50],
          ['unlock', 'ok', 2],
        ]),
        error: 'verify failed: http://localhost:1/health: connection refused',
      }),
      target('b', 1, { status: 'skipped', error: 'not started: max-failures reached' }),
      target('c', 1, { status: 'skipped', error: 'not started: max-failures reached' }),
    ],
  };
}

/** A plan of the three-target fleet. */
export function planReport(): Report {
  const base = deployReport();
  return {
    ...base,
    command: 'plan',
    status: 'planned',
    targets: base.targets.map((t) => ({
      ...t,
      status: t.status === 'deployed' ? 'planned' : t.status,
      steps: [],
      bytes: 0,
    })),
  };
}

/** What `status` says about a target. */
export function statusInfo(name: string, overrides: Partial<TargetStatusInfo> = {}): TargetStatusInfo {
  return {
    name,
    release: null,
    previousRelease: null,
    deployedAt: null,
    deployId: null,
    mode: null,
    drift: [],
    driftChecked: true,
    note: null,
    kept: 0,
    lock: null,
    lockUnreadable: null,
    backups: [],
    usage: { staging: { count: 0, bytes: 0 }, backups: { count: 0, bytes: 0 } },
    interrupted: false,
    error: null,
    ...overrides,
  };
}
