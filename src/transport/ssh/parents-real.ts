import { aType } from '../../entry-type.js';
import { TransportError } from '../../errors.js';
import { checkRelPath } from '../rel-path.js';
import type { Entry } from '../transport.js';

/**
 * Right before an SFTP call that changes or reads `rel`: every parent (and with
 * `self`, `rel` itself, unless it is a file) is a real folder, since SFTP
 * resolves links in the middle of a path and opens through one at its end. A
 * missing parent, or a file, stops the look: the call then fails on its own.
 * The file helper does the same on the host. Every level is asked at once
 * (one round trip, not one per level), then judged in order, as one by one: the
 * first level that is missing ends it, the first link refuses, the first error
 * is thrown.
 */
export async function parentsReal(
  lstat: (rel: string) => Promise<Entry | null>,
  description: string,
  op: string,
  rel: string,
  self = false,
): Promise<void> {
  const parts = checkRelPath(rel).split('/');
  const dirs = parts.slice(0, parts.length - (self ? 0 : 1)).map((_, i) => parts.slice(0, i + 1).join('/'));
  const seen = await Promise.all(
    dirs.map((dir) =>
      lstat(dir).then(
        (entry) => ({ entry }),
        (error: unknown) => ({ error }),
      ),
    ),
  );
  for (const [i, dir] of dirs.entries()) {
    const s = seen[i]!;
    if ('error' in s) throw s.error;
    if (s.entry === null || s.entry.type === 'file') return;
    if (s.entry.type !== 'dir') {
      const verb = op === 'read' || op === 'copy' ? 'reads' : 'writes';
      throw new TransportError(
        'E_UNSAFE',
        `${description}: refusing to ${op} ${JSON.stringify(rel)}: ${dir} is ${aType(s.entry.type)}, and diffship never ${verb} through one`,
      );
    }
  }
}
