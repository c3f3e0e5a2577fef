/**
 * Config problems: each names a key path (`targets[2].path`) and what was
 * expected. Validation collects them all and throws one ConfigValidationError,
 * so a user fixes every mistake in one edit instead of one per run.
 */
import path from 'node:path';
import { ConfigError } from '../errors.js';

/** A key path as segments: object keys and list indexes. */
export type KeyPath = readonly (string | number)[];

export interface ConfigProblem {
  /** Printed key path, e.g. `targets[2].path`; empty for the file as a whole. */
  path: string;
  /** What was expected, e.g. `required`. */
  message: string;
  /** The key path as segments, for locating it in the file. */
  keys?: KeyPath;
  /** 1-based position in the YAML file, when known. */
  line?: number;
  column?: number;
}

/**
 * Print a key path the way users write it: `targets[2].verify[0].http.url`.
 * Keys that are not plain words are quoted: `vars["my var"]`.
 */
export function formatKeyPath(segments: KeyPath): string {
  let out = '';
  for (const segment of segments) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (/^[A-Za-z0-9_$-]+$/.test(segment)) out += out === '' ? segment : `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}

/** One line for a problem: `targets[2].path: required (line 14)`. */
function formatProblem(problem: ConfigProblem): string {
  const where = problem.line !== undefined ? ` (line ${problem.line})` : '';
  return `${problem.path ? `${problem.path}: ` : ''}${problem.message}${where}`;
}

/** How a config file is named in messages: relative to the working directory when inside it. */
export function displayFile(file: string | null | undefined): string | undefined {
  if (!file) return undefined;
  const relative = path.relative(process.cwd(), file);
  return relative && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : file;
}

/** A config that failed validation; `problems` lists every mistake found. */
export class ConfigValidationError extends ConfigError {
  readonly problems: ConfigProblem[];
  readonly file: string | null;

  constructor(problems: ConfigProblem[], file: string | null = null) {
    const label = displayFile(file) ?? 'config';
    const lines = problems.map(formatProblem);
    const message =
      lines.length === 1
        ? `Invalid ${label}: ${lines[0]}`
        : `Invalid ${label} (${lines.length} problems):\n${lines.map((l) => `  ${l}`).join('\n')}`;
    super(message);
    this.name = 'ConfigValidationError';
    this.problems = problems;
    this.file = file;
  }
}

/** Collects problems while a config is checked. */
export class Problems {
  readonly list: ConfigProblem[] = [];

  add(segments: KeyPath | string, message: string): void {
    if (typeof segments === 'string') this.list.push({ path: segments, message });
    else this.list.push({ path: formatKeyPath(segments), message, keys: segments });
  }

  get size(): number {
    return this.list.length;
  }
}
