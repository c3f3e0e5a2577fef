/**
 * Validation of user-given refs and the source folder. Pure: nothing here runs git.
 *
 * A ref is only ever handed to git on stdin (`cat-file --batch`) or after
 * `--end-of-options`, but we still refuse option-like refs up front: a ref
 * such as `--output=x` is a mistake (or an attack) and deserves a clear error.
 */
import { DiffshipError, GitError } from '../errors.js';

/** Which option a ref came from, for error messages. */
export type RefRole = 'from' | 'to';

/** Show a user value in a message: quoted, control characters escaped. */
export function quote(value: string): string {
  return JSON.stringify(value);
}

/**
 * Check a ref and return it trimmed, or null when it is absent or empty.
 * @throws GitError E_REF when the ref looks like an option or holds control characters.
 */
export function normalizeRef(value: string | null | undefined, role: RefRole): string | null {
  if (value === undefined || value === null) return null;
  const ref = value.trim();
  if (ref === '') return null;
  if (ref.startsWith('-')) {
    throw new GitError(
      'E_REF',
      `${role} ref ${quote(ref)} looks like an option; pass a branch, tag or commit SHA`,
    );
  }
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(ref)) {
    throw new GitError(
      'E_REF',
      `${role} ref ${quote(ref)} contains control characters; pass a branch, tag or commit SHA`,
    );
  }
  return ref;
}

/** True for a full hexadecimal object id (SHA-1 or SHA-256). */
export function isFullOid(ref: string): boolean {
  return /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/i.test(ref);
}

/**
 * True when `git fetch origin <ref>` can mean something: a full SHA or a plain
 * ref name. Expressions (`v1~2`, `HEAD^{tree}`, `a:b`, `@{-1}`) can't be fetched.
 */
export function isFetchableRef(ref: string): boolean {
  if (isFullOid(ref)) return true;
  return !/[\s:^~?*[\\]|@\{|\.\.|^\/|\/$|\.lock$/.test(ref);
}

/** The source folder, checked: `given` for the result, `prefix` (with trailing "/", or "") for git. */
export interface SourceFolder {
  given: string;
  prefix: string;
}

/**
 * Normalise the source folder: no leading "./", no trailing "/". Separators are
 * "/" as in git; a backslash is part of a name, as it is on POSIX.
 * @throws DiffshipError E_CONFIG for absolute paths, ".." or control characters.
 */
export function normalizeSource(value: string | undefined | null): SourceFolder {
  const given = value === undefined || value === null || value.trim() === '' ? '.' : value;
  const parts = given.split('/').filter((part) => part !== '' && part !== '.');
  const bad = (why: string) =>
    new DiffshipError(
      'E_CONFIG',
      `source ${quote(given)} ${why}; give a folder inside the repository, like "workflows"`,
    );
  if (given.startsWith('/') || /^[A-Za-z]:[\\/]/.test(given)) throw bad('is an absolute path');
  if (parts.includes('..')) throw bad('leaves the repository');
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(given)) throw bad('contains control characters');
  return { given, prefix: parts.length === 0 ? '' : `${parts.join('/')}/` };
}
