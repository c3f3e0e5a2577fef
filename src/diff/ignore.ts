/**
 * The `.diffshipignore` file: exclude patterns kept in the repository, read
 * from the source folder of the `to` release. Pure.
 */
import { DiffshipError } from '../errors.js';
import type { PathFilter } from './classify.js';
import { quote } from './ref.js';

/** Name of the ignore file, at the top of the source folder. It is never shipped itself. */
export const IGNORE_FILE = '.diffshipignore';

/** The filter without include/exclude patterns: everything but the ignore file (json-records.ts knows it by identity). */
export const notIgnoreFile: PathFilter = (path) => path !== IGNORE_FILE;

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
