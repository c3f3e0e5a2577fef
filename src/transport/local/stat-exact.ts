// Exact lstats (git-index precision) for many files at once: the authoritative plan asks
// one per file of the release, 50,000 to 500,000 of them (issue 13).
import * as fsSync from 'node:fs';
import type { BigIntStats } from 'node:fs';
import type { FileStat } from '../../plan/manifest-types.js';
import { checkRelPath, joinRoot } from '../rel-path.js';

/** lstats per turn of the event loop: a few ms, so timers (the lock's lease) keep running. */
const PER_TURN = 2048;

/** The FileStat of an exact lstat. */
export function fileStatOf(s: BigIntStats): FileStat {
  return {
    size: Number(s.size),
    mtimeNs: s.mtimeNs.toString(),
    ctimeNs: s.ctimeNs.toString(),
    ino: s.ino.toString(),
    mode: Number(s.mode),
  };
}

/**
 * One exact lstat per path below `base`; null where nothing is. A
 * synchronous call each (microseconds; a promise per file costs more than the
 * syscall), a pause every PER_TURN. Any error other than "absent" is left to
 * `one` (the transport's single-path call), which words it.
 */
export async function statExactMany(
  base: string,
  rels: readonly string[],
  one: (rel: string) => Promise<FileStat | null>,
): Promise<Map<string, FileStat | null>> {
  const out = new Map<string, FileStat | null>();
  for (let i = 0; i < rels.length; i++) {
    if (i > 0 && i % PER_TURN === 0) await new Promise((resolve) => setImmediate(resolve));
    const rel = rels[i]!;
    let s: BigIntStats | undefined;
    try {
      s = fsSync.lstatSync(joinRoot(base, checkRelPath(rel)), { bigint: true, throwIfNoEntry: false });
    } catch {
      out.set(rel, await one(rel));
      continue;
    }
    out.set(rel, s === undefined ? null : fileStatOf(s));
  }
  return out;
}
