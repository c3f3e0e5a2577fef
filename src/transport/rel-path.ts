import { TransportError } from '../errors.js';

/**
 * Target-relative paths. Every path a transport receives is checked here
 * before it reaches the file system, so no caller can escape the target root
 * by accident: absolute paths, `..`, `.` and empty segments, NUL bytes are all
 * refused. `''` means the root itself, and only where `allowRoot` says so.
 */

const DOT = 0x2e;

/** Return `rel` unchanged when it is a safe relative POSIX path, else throw E_UNSAFE. */
export function checkRelPath(rel: string, options: { allowRoot?: boolean } = {}): string {
  if (typeof rel !== 'string') throw unsafe(String(rel), 'not a string');
  if (rel === '') {
    if (options.allowRoot) return rel;
    throw unsafe(rel, 'empty path (the target root itself is not allowed here)');
  }
  if (rel.includes('\0')) throw unsafe(rel, 'contains a NUL byte');
  if (rel.startsWith('/'))
    throw unsafe(rel, 'absolute paths are refused; give a path relative to the target folder');
  // Segment by segment without splitting: every path of a 500,000-file plan passes here.
  for (let start = 0; start <= rel.length;) {
    let end = rel.indexOf('/', start);
    if (end === -1) end = rel.length;
    const length = end - start;
    if (length === 0) throw unsafe(rel, 'empty path segment (double or trailing slash)');
    if (length <= 2 && rel.charCodeAt(start) === DOT) {
      if (length === 1) throw unsafe(rel, "'.' segments are refused");
      if (rel.charCodeAt(start + 1) === DOT) throw unsafe(rel, "'..' segments are refused");
    }
    start = end + 1;
  }
  return rel;
}

/** Join a checked relative path onto a root (`''` is the root itself). */
export function joinRoot(root: string, rel: string): string {
  if (rel === '') return root;
  return root.endsWith('/') ? root + rel : `${root}/${rel}`;
}

/** Join a child name onto a relative folder path (`''` is the root). */
export function joinRel(dir: string, name: string): string {
  return dir === '' ? name : `${dir}/${name}`;
}

function unsafe(rel: string, why: string): TransportError {
  return new TransportError('E_UNSAFE', `unsafe path ${JSON.stringify(rel)}: ${why}`);
}
