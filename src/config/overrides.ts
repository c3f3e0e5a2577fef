/**
 * Command-line and action inputs that override the config file: `--mode`,
 * `--waves`, `--max-parallel`, `--on-drift`, `--max-deletes`, `--max-failures`.
 * Pure: returns a new config, checked the same way as the file.
 */
import { DiffshipError } from '../errors.js';
import { parseCountOrPercent, wholeNumber } from './count-or-percent.js';
import { configFolderHazards } from './paths.js';
import type { CountOrPercent, Mode, OnDrift, ResolvedConfig } from './types.js';
import { shown } from './zod-issues.js';

/**
 * Values as they arrive from flags or action inputs (strings are fine).
 * `undefined` or `""` means "not given": action inputs are "" when unset.
 */
export interface ConfigOverrides {
  mode?: string;
  /** `"1,50%,100%"`, a single size, or a list (parsed sizes are fine too; a list from YAML is checked item by item). */
  waves?: string | number | ReadonlyArray<unknown>;
  maxParallel?: string | number;
  onDrift?: string;
  /** `changes` or `all`. */
  driftScope?: string;
  maxDeletes?: string | number;
  maxFailures?: string | number;
}

export interface OverrideOptions {
  /** How a message names a setting: `--waves` (the CLI, the default), `Input waves` (the action). */
  name?: (flag: string) => string;
}

const given = <T>(value: T | undefined | ''): value is T => value !== undefined && value !== '';
const WAVE = { zeroPercent: false, minCount: 1 };
const MAX_FAILURES = { zeroPercent: true, minCount: 0 };

/** The list of wave sizes as given: a string splits at commas and spaces. */
function waveItems(waves: string | number | ReadonlyArray<unknown>): unknown[] {
  if (typeof waves === 'string') return waves.split(/[\s,]+/).filter(Boolean);
  return Array.isArray(waves) ? [...(waves as readonly unknown[])] : [waves];
}

/** A list shows as its JSON text, so the bad item is visible in the message. */
function showWaves(waves: string | number | ReadonlyArray<unknown>): string {
  return shown(Array.isArray(waves) ? JSON.stringify(waves) : waves);
}

/**
 * Check the overrides alone (no config needed): every problem, one E_USAGE
 * DiffshipError. The action calls it to stop at a bad input before it loads anything.
 */
export function checkOverrides(overrides: ConfigOverrides, options: OverrideOptions = {}): void {
  const problems = parseOverrides(overrides, options.name ?? ((flag) => `--${flag}`)).problems;
  if (problems.length > 0) throw new DiffshipError('E_USAGE', problems.join('; '));
}

function parseOverrides(
  overrides: ConfigOverrides,
  name: (flag: string) => string,
): { values: Partial<ResolvedConfig>; problems: string[] } {
  const problems: string[] = [];
  const values: Partial<ResolvedConfig> = {};
  if (given(overrides.mode)) {
    if (overrides.mode === 'additive' || overrides.mode === 'authoritative')
      values.mode = overrides.mode as Mode;
    else problems.push(`${name('mode')}: expected additive or authoritative (got ${shown(overrides.mode)})`);
  }
  if (given(overrides.onDrift)) {
    if (['fail', 'overwrite', 'skip'].includes(overrides.onDrift))
      values.onDrift = overrides.onDrift as OnDrift;
    else
      problems.push(
        `${name('on-drift')}: expected fail, overwrite or skip (got ${shown(overrides.onDrift)})`,
      );
  }
  if (given(overrides.driftScope)) {
    if (overrides.driftScope === 'changes' || overrides.driftScope === 'all')
      values.driftScope = overrides.driftScope;
    else
      problems.push(`${name('drift-scope')}: expected changes or all (got ${shown(overrides.driftScope)})`);
  }
  if (given(overrides.waves)) {
    const list = waveItems(overrides.waves);
    const sizes = list.map((size) => parseCountOrPercent(size, WAVE));
    if (list.length === 0 || sizes.some((s) => s === undefined)) {
      problems.push(
        `${name('waves')}: expected counts or "N%" separated by commas, like 1,50%,100% (got ${showWaves(overrides.waves)})`,
      );
    } else values.waves = sizes as CountOrPercent[];
  }
  if (given(overrides.maxParallel)) {
    const n = wholeNumber(overrides.maxParallel, 1);
    if (n === undefined)
      problems.push(
        `${name('max-parallel')}: expected a count of 1 or more (got ${shown(overrides.maxParallel)})`,
      );
    else values.maxParallel = n;
  }
  if (given(overrides.maxDeletes)) {
    const n = wholeNumber(overrides.maxDeletes, 0);
    if (n === undefined)
      problems.push(`${name('max-deletes')}: expected a count (got ${shown(overrides.maxDeletes)})`);
    else values.maxDeletes = n;
  }
  if (given(overrides.maxFailures)) {
    const s = parseCountOrPercent(overrides.maxFailures, MAX_FAILURES);
    if (s === undefined)
      problems.push(
        `${name('max-failures')}: expected a count or "N%" (got ${shown(overrides.maxFailures)})`,
      );
    else values.maxFailures = s;
  }
  return { values, problems };
}

/**
 * Apply overrides to a resolved config. Throws an E_USAGE DiffshipError naming
 * the flag: `--mode: expected additive or authoritative (got "overwrite")`.
 *
 * @example withOverrides(config, { mode: 'authoritative', waves: '1,50%' })
 */
export function withOverrides(
  config: ResolvedConfig,
  overrides: ConfigOverrides = {},
  options: OverrideOptions = {},
): ResolvedConfig {
  const name = options.name ?? ((flag) => `--${flag}`);
  const { values, problems } = parseOverrides(overrides, name);
  const next: ResolvedConfig = { ...config, ...values };
  if (problems.length === 0 && next.mode === 'authoritative' && config.mode !== 'authoritative') {
    for (const hazard of configFolderHazards(next.targets, next.baseDir)) {
      problems.push(
        `${name('mode')} authoritative: targets[${hazard.index}] (${next.targets[hazard.index]!.name}): ${hazard.message}; an authoritative deploy would delete it`,
      );
    }
  }
  if (problems.length > 0) throw new DiffshipError('E_USAGE', problems.join('; '));
  return next;
}
