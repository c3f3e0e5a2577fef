/**
 * The one reader of "a count or N%" values (wave sizes, max-failures), for the
 * config file (config/fields.ts), the CLI flags and the action's inputs
 * (config/overrides.ts). Pure.
 */
import { PERCENT_PATTERN } from './schema-parts.js';
import type { CountOrPercent } from './types.js';

export interface ShareRange {
  /** `0%` is allowed (max-failures); a wave of 0% would never end. */
  zeroPercent: boolean;
  /** The smallest count allowed. */
  minCount: number;
}

/**
 * `3`, `"3"` → `{ count: 3 }`; `"10%"` → `{ percent: 10 }`; a parsed value is
 * checked again. Undefined when `value` is neither or out of range: percentages
 * are in (0, 100], or [0, 100] with `zeroPercent`; counts are whole numbers ≥ `minCount`.
 *
 * @example parseCountOrPercent('50%', { zeroPercent: false, minCount: 1 }) // { percent: 50 }
 */
export function parseCountOrPercent(value: unknown, range: ShareRange): CountOrPercent | undefined {
  if (typeof value === 'object' && value !== null) {
    if ('percent' in value) return parseCountOrPercent(`${value.percent}%`, range);
    if ('count' in value) return parseCountOrPercent(value.count, range);
    return undefined;
  }
  if (typeof value === 'string' && PERCENT_PATTERN.test(value)) {
    const percent = Number(value.replace('%', '').trim());
    return (range.zeroPercent ? percent >= 0 : percent > 0) && percent <= 100 ? { percent } : undefined;
  }
  const count = wholeNumber(value, range.minCount);
  return count === undefined ? undefined : { count };
}

/** A whole number ≥ `min` from a number or a numeric string, else undefined. */
export function wholeNumber(value: unknown, min: number): number | undefined {
  const n =
    typeof value === 'number'
      ? value
      : typeof value === 'string' && /^\s*\d+\s*$/.test(value)
        ? Number(value)
        : NaN;
  return Number.isInteger(n) && n >= min ? n : undefined;
}
