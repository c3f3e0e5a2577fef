/**
 * A local target's walks of the whole tree (authoritative mode), each started
 * ahead of its read where the caller can (while git diffs) and read once:
 * sorted (find | sort: find-walk.ts) or in find's own order (find-stream.ts).
 * Asking for one stops the other kind started ahead; asking again for a walk
 * already started ahead (same kind, same skip: the rollout's early walk, then
 * the plan's) keeps it. `stop` (the target's close) stops whatever is left, so
 * a plan given up leaves no find or sort behind.
 */
import { TransportError } from '../../errors.js';
import type { SettleRaw, SortedVisit, WalkEcho } from '../transport.js';
import { findWalkFor, startFindWalk, stopFindWalk, walkSortedFound, type FindWalk } from './find-walk.js';
import { startFindStream, stopFindStream, visitStream, type FindStream } from './find-stream.js';
import { lstatExact } from './sorted-walk.js';

export class LocalWalks {
  /** A sorted walk started ahead (prewalkSorted), not read yet; the one being read. */
  private prewalk: FindWalk | null = null;
  private walking: FindWalk | null = null;
  /** The same for the walk in find's order. */
  private prestream: FindStream | null = null;
  private streaming: FindStream | null = null;

  /** `base()`: the target's real root (known once it is connected). */
  constructor(private readonly base: () => string) {}

  stop(): void {
    for (const w of [this.prewalk, this.walking]) if (w) stopFindWalk(w);
    for (const w of [this.prestream, this.streaming]) if (w) stopFindStream(w);
    this.prewalk = this.walking = null;
    this.prestream = this.streaming = null;
  }

  prewalkSorted(skip: readonly string[], expected?: number): void {
    if (this.prewalk && sameSkip(this.prewalk.skip, skip)) return;
    this.dropAhead();
    this.prewalk = startFindWalk(this.base(), skip, expected);
  }

  async walkSorted(skip: readonly string[], visit: SortedVisit, settle?: SettleRaw): Promise<void> {
    const early = this.prewalk;
    this.prewalk = null;
    this.dropAhead();
    const found = findWalkFor(early, this.base(), skip);
    this.walking = found;
    try {
      await walkSortedFound(this.base(), skip, visit, found, this.fail, settle);
    } finally {
      if (this.walking === found) this.walking = null;
    }
  }

  prewalkUnordered(skip: readonly string[]): void {
    if (this.prestream && sameSkip(this.prestream.skip, skip)) return;
    this.dropAhead();
    this.prestream = startOrNull(this.base(), skip);
  }

  async walkUnordered(
    skip: readonly string[],
    visit: SortedVisit,
    settle?: SettleRaw,
    echo?: WalkEcho,
  ): Promise<boolean> {
    const early = this.prestream;
    this.prestream = null;
    this.dropAhead();
    const same = early !== null && sameSkip(early.skip, skip);
    if (early && !same) stopFindStream(early);
    const s = same ? early : startOrNull(this.base(), skip);
    if (s === null) return false; // no temporary file here: the caller walks sorted
    this.streaming = s;
    try {
      return await visitStream(
        s,
        visit,
        (rel) => lstatExact(this.base(), rel, this.fail),
        (why) => this.fail('walk', '', new Error(why)),
        settle,
        echo,
      );
    } finally {
      if (this.streaming === s) this.streaming = null;
    }
  }

  /** Walks started ahead that nobody will read now. */
  private dropAhead(): void {
    if (this.prewalk) stopFindWalk(this.prewalk);
    if (this.prestream) stopFindStream(this.prestream);
    this.prewalk = this.prestream = null;
  }

  private readonly fail = (op: string, rel: string, error: unknown): TransportError => {
    const why = (error as NodeJS.ErrnoException).code ?? String(error);
    return new TransportError(
      'E_TRANSPORT',
      `cannot ${op} ${JSON.stringify(rel)} in ${this.base()}: ${why}`,
      {
        cause: error,
      },
    );
  };
}

/** A find stream, or null where its temporary file cannot be made (a temp folder not writable). */
function startOrNull(base: string, skip: readonly string[]): FindStream | null {
  try {
    return startFindStream(base, skip);
  } catch {
    return null;
  }
}

const sameSkip = (a: readonly string[], b: readonly string[]) => a.join('\0') === b.join('\0');
