/**
 * Field-level checks shared by the resolver: durations, shares, ports, globs,
 * relative folders. Each reports into the resolution's Problems and returns a
 * usable value, so one run finds every mistake.
 */
import os from 'node:os';
import path from 'node:path';
import { durationMs, DURATION_EXPECTED } from './duration.js';
import { Problems, type KeyPath } from './problems.js';
import { parseCountOrPercent } from './count-or-percent.js';
import type { CountOrPercent } from './types.js';
import { shown } from './zod-issues.js';

/** State of one resolution: where paths resolve, what was found wrong. */
export interface ResolveContext {
  readonly problems: Problems;
  readonly warnings: string[];
  /** Values to mask in logs; grows as keys and passphrases are found. */
  readonly secrets: string[];
  readonly baseDir: string;
  readonly env: NodeJS.ProcessEnv;
  /** `$HOME`, else os.homedir(): what `~` means. */
  readonly home: string;
}

export function createContext(baseDir: string, env: NodeJS.ProcessEnv, secrets: string[]): ResolveContext {
  return { problems: new Problems(), warnings: [], secrets, baseDir, env, home: env.HOME || os.homedir() };
}

/** `~` and `~/x` → the home folder. */
export function expandHome(ctx: ResolveContext, p: string): string {
  if (p === '~') return ctx.home;
  if (p.startsWith('~/')) return path.join(ctx.home, p.slice(2));
  return p;
}

/** Milliseconds of `value ?? fallback`; `positive` refuses 0. */
export function durationField(
  ctx: ResolveContext,
  value: string | number | undefined,
  at: KeyPath,
  fallback: string | number,
  positive: boolean,
): number {
  const ms = durationMs(value ?? fallback);
  if (ms === undefined) {
    ctx.problems.add(at, `${DURATION_EXPECTED} (got ${shown(value)})`);
    return 0;
  }
  if (positive && ms <= 0) ctx.problems.add(at, `expected a duration above 0 (got ${shown(value)})`);
  return ms;
}

/** A wave size (`"N%"` with 0 < N ≤ 100) or max-failures (0 ≤ N ≤ 100) as `{ count }` or `{ percent }`. */
export function shareField(
  ctx: ResolveContext,
  value: number | string,
  at: KeyPath,
  what: 'wave' | 'max-failures',
): CountOrPercent {
  const parsed = parseCountOrPercent(value, { zeroPercent: what === 'max-failures', minCount: 0 });
  if (parsed) return parsed;
  const range = what === 'wave' ? 'above 0% up to 100%' : 'from 0% to 100%';
  ctx.problems.add(at, `expected a percentage ${range} (got ${shown(value)})`);
  return { count: 0 };
}

/** One glob or a list → a list; empty globs refused. */
export function globsField(ctx: ResolveContext, value: string | string[] | undefined, at: KeyPath): string[] {
  const list = value === undefined ? [] : Array.isArray(value) ? value : [value];
  list.forEach((glob, i) => {
    if (glob.trim() === '')
      ctx.problems.add(Array.isArray(value) ? [...at, i] : at, 'expected a glob, not ""');
  });
  return list;
}

/** source and state-dir: a relative POSIX folder that stays inside (not absolute, no `..`). */
export function relativeFolderField(
  ctx: ResolveContext,
  value: string,
  at: KeyPath,
  allowDot: boolean,
): string {
  const raw = value.trim();
  if (raw === '') {
    ctx.problems.add(at, 'expected a relative folder, not ""');
    return raw;
  }
  if (raw.startsWith('/') || path.isAbsolute(raw) || raw.startsWith('~')) {
    ctx.problems.add(at, `expected a relative folder (got ${shown(value)})`);
    return raw;
  }
  const normalized = path.posix.normalize(raw.replace(/\\/g, '/')).replace(/\/+$/, '') || '.';
  if (raw.split(/[\\/]/).includes('..')) {
    ctx.problems.add(at, `must not contain ".." (got ${shown(value)})`);
  } else if (normalized === '.' && !allowDot) {
    ctx.problems.add(at, 'expected a folder name inside the target, not "."');
  }
  return normalized;
}

/** A port from a number or a string (`${SSH_PORT}`); undefined when absent or bad. */
export function portField(
  ctx: ResolveContext,
  value: number | string | undefined,
  at: KeyPath,
): number | undefined {
  if (value === undefined || typeof value === 'number') return value;
  const trimmed = value.trim();
  const n = /^\d+$/.test(trimmed) ? Number(trimmed) : NaN;
  if (!(n >= 1 && n <= 65535)) {
    ctx.problems.add(at, `expected a port number (1-65535) (got ${shown(value)})`);
    return undefined;
  }
  return n;
}
