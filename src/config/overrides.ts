/**
 * Command-line and action inputs that override the config file: `--mode`,
 * `--waves`, `--max-parallel`, `--on-drift`, `--max-deletes`, `--max-failures`.
 * Pure: returns a new config, checked the same way as the file.
 */
import { DiffshipError } from '../errors.js';
import { PERCENT_PATTERN } from './schema.js';
import { configFolderHazards } from './paths.js';
import type { CountOrPercent, Mode, OnDrift, ResolvedConfig } from './types.js';
import { shown } from './zod-issues.js';

/**
 * Values as they arrive from flags or action inputs (strings are fine).
 * `undefined` or `""` means "not given": action inputs are "" when unset.
 */
export interface ConfigOverrides {
  mode?: string;
  /** `"1,50%,100%"`, a single size, or a list (parsed sizes are fine too). */
  waves?: string | number | ReadonlyArray<string | number | CountOrPercent>;
  maxParallel?: string | number;
  onDrift?: string;
  /** `changes` or `all`. */
  driftScope?: string;
  maxDeletes?: string | number;
  maxFailures?: string | number;
}

const given = <T>(value: T | undefined | ''): value is T => value !== undefined && value !== '';

/** A whole number ≥ `min` from a number or a numeric string, else undefined. */
function count(value: string | number, min: number): number | undefined {
  const n = typeof value === 'number' ? value : /^\s*\d+\s*$/.test(value) ? Number(value) : NaN;
  return Number.isInteger(n) && n >= min ? n : undefined;
}

/** `3` or `"10%"`; percentages must be in (0, 100] (`allowZero`: [0, 100]). */
function share(value: string | number | CountOrPercent, allowZero: boolean): CountOrPercent | undefined {
  if (typeof value === 'object') {
    if ('percent' in value) return share(`${value.percent}%`, allowZero);
    return share(value.count, allowZero);
  }
  if (typeof value === 'string' && PERCENT_PATTERN.test(value)) {
    const percent = Number(value.replace('%', '').trim());
    return (allowZero ? percent >= 0 : percent > 0) && percent <= 100 ? { percent } : undefined;
  }
  const n = count(value, allowZero ? 0 : 1);
  return n === undefined ? undefined : { count: n };
}

/**
 * Apply overrides to a resolved config. Throws an E_USAGE DiffshipError naming
 * the flag: `--mode: expected additive or authoritative (got "overwrite")`.
 *
 * @example withOverrides(config, { mode: 'authoritative', waves: '1,50%' })
 */
export function withOverrides(config: ResolvedConfig, overrides: ConfigOverrides = {}): ResolvedConfig {
  const problems: string[] = [];
  const next: ResolvedConfig = { ...config };

  if (given(overrides.mode)) {
    if (overrides.mode === 'additive' || overrides.mode === 'authoritative')
      next.mode = overrides.mode as Mode;
    else problems.push(`--mode: expected additive or authoritative (got ${shown(overrides.mode)})`);
  }
  if (given(overrides.onDrift)) {
    if (['fail', 'overwrite', 'skip'].includes(overrides.onDrift))
      next.onDrift = overrides.onDrift as OnDrift;
    else problems.push(`--on-drift: expected fail, overwrite or skip (got ${shown(overrides.onDrift)})`);
  }
  if (given(overrides.driftScope)) {
    if (overrides.driftScope === 'changes' || overrides.driftScope === 'all')
      next.driftScope = overrides.driftScope;
    else problems.push(`--drift-scope: expected changes or all (got ${shown(overrides.driftScope)})`);
  }
  if (given(overrides.waves)) {
    const list =
      typeof overrides.waves === 'string'
        ? overrides.waves.split(/[\s,]+/).filter(Boolean)
        : Array.isArray(overrides.waves)
          ? [...(overrides.waves as ReadonlyArray<string | number | CountOrPercent>)]
          : [overrides.waves as number];
    const sizes = list.map((size) => share(size, false));
    if (list.length === 0 || sizes.some((s) => s === undefined)) {
      problems.push(
        `--waves: expected counts or "N%" separated by commas, like 1,50%,100% (got ${shown(overrides.waves)})`,
      );
    } else next.waves = sizes as CountOrPercent[];
  }
  if (given(overrides.maxParallel)) {
    const n = count(overrides.maxParallel, 1);
    if (n === undefined)
      problems.push(`--max-parallel: expected a count of 1 or more (got ${shown(overrides.maxParallel)})`);
    else next.maxParallel = n;
  }
  if (given(overrides.maxDeletes)) {
    const n = count(overrides.maxDeletes, 0);
    if (n === undefined)
      problems.push(`--max-deletes: expected a count (got ${shown(overrides.maxDeletes)})`);
    else next.maxDeletes = n;
  }
  if (given(overrides.maxFailures)) {
    const s = share(overrides.maxFailures, true);
    if (s === undefined)
      problems.push(`--max-failures: expected a count or "N%" (got ${shown(overrides.maxFailures)})`);
    else next.maxFailures = s;
  }
  if (problems.length === 0 && next.mode === 'authoritative' && config.mode !== 'authoritative') {
    for (const hazard of configFolderHazards(next.targets, next.baseDir)) {
      problems.push(
        `--mode authoritative: targets[${hazard.index}] (${next.targets[hazard.index]!.name}): ${hazard.message}; an authoritative deploy would delete it`,
      );
    }
  }
  if (problems.length > 0) throw new DiffshipError('E_USAGE', problems.join('; '));
  return next;
}
