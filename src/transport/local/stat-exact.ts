// Exact lstats (git-index precision) for many files at once: the authoritative plan asks
// one per file of the release, 50,000 to 500,000 of them (issue 13).
import * as fsSync from 'node:fs';
import type { BigIntStats } from 'node:fs';
import type { FileStat } from '../../plan/manifest-types.js';
import { checkRelPath, joinRoot } from '../rel-path.js';
import type { ThreadStat } from './writer-thread.js';

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

/** Paths from which half of them go to another thread (`far`), where one was given. */
const SPLIT_MIN = 64;

/**
 * One exact lstat per path below `base`; null where nothing is. A
 * synchronous call each (microseconds; a promise per file costs more than the
 * syscall), a pause every PER_TURN. Any error other than "absent" is left to
 * `one` (the transport's single-path call), which words it. `far`: another
 * thread's lstats (the writer thread's, writer-thread.ts), given the second
 * half of a big batch while this one takes the first: two cores, not one.
 */
export async function statExactMany(
  base: string,
  rels: readonly string[],
  one: (rel: string) => Promise<FileStat | null>,
  far?: (absolute: string[]) => Promise<ThreadStat[]>,
): Promise<Map<string, FileStat | null>> {
  const out = new Map<string, FileStat | null>();
  const [split, farStats] = farHalf(base, rels, far);
  for (let i = 0; i < split; i++) {
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
  if (farStats === null) return out;
  // The thread gone or failing: the paths it had are taken here instead.
  const got = await farStats.catch(() => null);
  for (let i = split; i < rels.length; i++) {
    const rel = rels[i]!;
    const s = got?.[i - split];
    out.set(rel, s === undefined || s === 'error' ? await one(rel) : s);
  }
  return out;
}

/** Where the paths this thread takes end, and the other thread's answer for the rest (or none). */
function farHalf(
  base: string,
  rels: readonly string[],
  far: ((absolute: string[]) => Promise<ThreadStat[]>) | undefined,
): [number, Promise<ThreadStat[]> | null] {
  if (!far || rels.length < SPLIT_MIN) return [rels.length, null];
  const split = rels.length >> 1;
  let absolute: string[];
  try {
    absolute = rels.slice(split).map((rel) => joinRoot(base, checkRelPath(rel)));
  } catch {
    return [rels.length, null]; // a bad name: all of them here, where `one` words it
  }
  const answer = far(absolute);
  answer.catch(() => undefined); // this thread may fail first and never await it
  return [split, answer];
}
