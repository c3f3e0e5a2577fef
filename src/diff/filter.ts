/**
 * Path filters: include/exclude minimatch globs. Pure. Globs apply to
 * source-relative paths; dot files are matched; exclude wins.
 */
import { Minimatch } from 'minimatch';
import type { PathFilter } from './classify.js';
import { IGNORE_FILE } from './ignore.js';

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
