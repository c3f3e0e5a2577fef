import { TransportError } from '../errors.js';

/**
 * Quoting for POSIX shells. Remote commands reach the host as one string that
 * the login shell parses, and sshd drops client environment, so values (paths,
 * DIFFSHIP_* variables) are put into the command text itself: single quotes
 * make every byte literal except `'`, which is written as `'\''`.
 */

/** Quote `value` as one shell word, e.g. `it's` → `'it'\''s'`. */
export function shellQuote(value: string): string {
  if (value.includes('\0')) throw new TransportError('E_UNSAFE', 'a shell value cannot contain a NUL byte');
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Throw unless every variable name is a valid shell name (both transports refuse the same names). */
export function checkEnvNames(env: Record<string, string> | undefined): void {
  for (const name of Object.keys(env ?? {})) {
    if (!NAME.test(name))
      throw new TransportError(
        'E_UNSAFE',
        `environment variable name ${JSON.stringify(name)} is not a valid shell name`,
      );
  }
}

/** `export A='1' B='2'` for a set of variables; '' when there are none. Names are checked. */
export function exportLine(env: Record<string, string> | undefined): string {
  checkEnvNames(env);
  const entries = Object.entries(env ?? {});
  if (entries.length === 0) return '';
  return `export ${entries.map(([name, value]) => `${name}=${shellQuote(value)}`).join(' ')}`;
}
