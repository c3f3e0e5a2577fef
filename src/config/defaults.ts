/**
 * Every default of diffship.yml in one place: SPEC §2's, and the ones diffship
 * chose where the SPEC is silent (documented in docs/config.md).
 */
import type { CountOrPercent } from './types.js';

export const DEFAULTS = {
  source: '.',
  mode: 'additive',
  stateDir: '.diffship',
  onDrift: 'fail',
  /** A canary first, then everything else. */
  waves: [{ count: 1 }, { percent: 100 }] as readonly CountOrPercent[],
  maxParallel: 4,
  maxFailures: { count: 0 } as CountOrPercent,
  rollback: 'target',
  timeout: '30m',
  renames: true,
  symlinks: 'allow',
  hook: { timeout: '5m', settle: 0 },
  http: { method: 'GET', status: ['2xx'], interval: '2s', timeout: '60s', successThreshold: 1 },
  tcp: { interval: '1s', timeout: '30s' },
  command: { interval: '2s', timeout: '30s' },
  ssh: { port: 22, connectTimeout: '20s', replyTimeout: '30s', strictHostKey: true },
  localHost: 'localhost',
} as const;
