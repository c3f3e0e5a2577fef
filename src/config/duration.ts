/**
 * Durations as users write them: `500ms`, `2s`, `1m`, `1h`, compounds like
 * `1m30s`, or a plain number of seconds (YAML number or numeric string).
 */
import { ConfigError } from '../errors.js';

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;

/** A whole duration string; shared with the schema so the JSON Schema accepts the same. */
export const DURATION_PATTERN = /^\s*(?:\d+(?:\.\d+)?\s*(?:ms|s|m|h)\s*)+$|^\s*\d+(?:\.\d+)?\s*$/;

export const DURATION_EXPECTED = 'expected a duration like 500ms, 2s, 1m, 1h or a number of seconds';

/**
 * Milliseconds in `value`, or undefined when it is not a duration.
 * @example durationMs('1m30s') // 90000
 */
export function durationMs(value: unknown): number | undefined {
  if (typeof value === 'number')
    return Number.isFinite(value) && value >= 0 ? Math.round(value * 1000) : undefined;
  if (typeof value !== 'string' || !DURATION_PATTERN.test(value)) return undefined;
  const trimmed = value.trim();
  if (/^\d+(?:\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  let total = 0;
  for (const match of trimmed.matchAll(/(\d+(?:\.\d+)?)\s*(ms|s|m|h)/g)) {
    total += Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
  }
  return Math.round(total);
}

/**
 * Parse a duration to milliseconds; the error names `keyPath`.
 *
 * @example parseDuration('2s', 'defaults.verify[0].http.interval') // 2000
 * @example parseDuration(30, 'timeout') // 30000
 */
export function parseDuration(value: unknown, keyPath: string): number {
  const ms = durationMs(value);
  if (ms === undefined) {
    const got = typeof value === 'string' ? JSON.stringify(value) : String(value);
    throw new ConfigError(`${keyPath}: ${DURATION_EXPECTED} (got ${got})`);
  }
  return ms;
}
