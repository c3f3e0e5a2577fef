import { describe, expect, it } from 'vitest';
import { statusFailure, statusOutputs, statusRow } from '../../src/action/status.js';
import { statusInfo } from './fixtures.js';

describe('status', () => {
  it('makes one row per target with the lock holder and counts', () => {
    const row = statusRow(
      statusInfo('a', {
        release: '0123456789abcdef'.repeat(2),
        deployedAt: '2025-01-02T03:04:05Z',
        mode: 'additive',
        drift: ['x', 'y'],
        kept: 3,
        backups: ['d1', 'd2'],
        interrupted: true,
        lock: {
          deployId: 'd9',
          command: 'deploy',
          user: 'ci',
          host: 'runner-1',
          pid: 42,
          since: '2025-01-02T03:00:00Z',
          leaseUntil: '2025-01-02T03:01:00Z',
          stale: null,
        },
      }),
    );
    expect(row).toEqual({
      Target: 'a',
      Release: '0123456789ab',
      'Deployed at': '2025-01-02T03:04:05Z',
      Mode: 'additive',
      Drift: 2,
      Kept: 3,
      Lock: 'ci@runner-1 since 2025-01-02T03:00:00Z',
      Backups: 2,
      Interrupted: 'yes',
      Error: '',
    });
    expect(statusRow(statusInfo('new')).Release).toBe('(none)');
    expect(statusRow(statusInfo('cut', { backups: ['d1'], uncommittedBackups: ['d2'] })).Backups).toBe(
      '1 (+1 left by a cut-off deploy; the next run removes it)',
    );
    expect(statusRow(statusInfo('cut2', { backups: [], uncommittedBackups: ['d2', 'd3'] })).Backups).toBe(
      '0 (+2 left by a cut-off deploy; the next run removes them)',
    );
  });

  it('fails when a target could not be inspected', () => {
    const infos = [statusInfo('a'), statusInfo('b', { error: 'refused' })];
    expect(statusOutputs(infos, 'r.json')).toMatchObject({
      status: 'failed',
      'failed-targets': '["b"]',
      report: 'r.json',
    });
    expect(statusFailure(infos)).toBe('diffship status: 1 of 2 target(s) could not be inspected (b)');
    expect(statusOutputs([statusInfo('a')], 'r').status).toBe('succeeded');
    expect(statusFailure([statusInfo('a')])).toBeNull();
  });
});
