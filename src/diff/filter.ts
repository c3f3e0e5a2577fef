/**
 * Path filters: include/exclude minimatch globs and the `.diffshipignore` file.
 * Pure. Globs apply to source-relative paths; dot files are matched; exclude wins.
 */
import { Minimatch } from 'minimatch';
import { DiffshipError } from '../errors.js';
import { quote } from './ref.js';

/** Name of the ignore file, at the top of the source folder of the `to` release. */
export const IGNORE_FILE = '.diffshipignore';

/** Decides whether a source-relative path takes part in the change set. */
export type PathFilter = (path: string) => boolean;

export interface FilterOptions {
  include?: readonly string[];
  exclude?: readonly string[];
}

/**
 * Build the filter. A pattern ending in "/" means everything under that folder
 * (plain minimatch would match nothing, since only files are tested).
 * The ignore file itself is always filtered out: it is never shipped.
 */
export function createPathFilter({ include = [], exclude = [] }: FilterOptions): PathFilter {
  const includes = include.map(compile);
  const excludes = exclude.map(compile);
  return (path) => {
    if (path === IGNORE_FILE) return false;
    if (includes.length > 0 && !includes.some((m) => m.match(path))) return false;
    return !excludes.some((m) => m.match(path));
  };
}

function compile(pattern: string): Minimatch {
  const glob = pattern.endsWith('/') ? `${pattern}**` : pattern;
  return new Minimatch(glob, { dot: true });
}

/**
 * Parse `.diffshipignore`: one minimatch glob a line, `#` comments, blank lines
 * skipped, CRLF (and a UTF-8 BOM) tolerated, surrounding whitespace trimmed.
 * @throws DiffshipError E_CONFIG for a `!` line: re-including is not supported.
 */
export function parseIgnoreFile(text: string): string[] {
  const patterns: string[] = [];
  const lines = text.replace(/^\uFEFF/, '').split(/\r\n|\r|\n/);
  lines.forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    if (line.startsWith('!')) {
      throw new DiffshipError(
        'E_CONFIG',
        `${IGNORE_FILE} line ${index + 1}: ${quote(line)} negates a pattern, which is not supported; ` +
          'list only what to exclude (or use --include)',
      );
    }
    patterns.push(line);
  });
  return patterns;
}
