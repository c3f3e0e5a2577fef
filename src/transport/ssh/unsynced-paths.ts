/**
 * The files an SSH target had written without a sync (`{ sync: false }`, a bulk write's
 * files), until a sync covers them. The final sync needs their paths only where the host's
 * syncfs fails (fsyncs one by one then, sync-written.ts); held for a whole deploy they were
 * its biggest pile (an SSH first deploy of 200,000 files: 148,000 staging paths, ~20 MB, at
 * its peak). So a sync ahead (file-ops.ts) may drop what a syncfs has made durable: each
 * path carries the number of its write, and a sync started after write n covers every write
 * up to n. A path written again since keeps its new number and stays. Pure.
 */
export class UnsyncedPaths {
  private readonly paths = new Map<string, number>();
  private writes = 0;

  get size(): number {
    return this.paths.size;
  }

  /** `rel` was written (or renamed into place) without a sync. */
  add(rel: string): void {
    this.paths.set(rel, ++this.writes);
  }

  /** The last write so far: a sync started now covers every write up to it. */
  mark(): number {
    return this.writes;
  }

  /** A sync started at `mark` succeeded: the writes up to it are durable. */
  synced(mark: number): void {
    for (const [rel, n] of this.paths) if (n <= mark) this.paths.delete(rel);
  }

  /** `from` was renamed to `to`: if it was unsynced, its new name is (the rename too). */
  renamed(from: string, to: string): void {
    if (this.paths.delete(from)) this.add(to);
  }

  /** Every path, none kept (the final sync's list). */
  take(): string[] {
    const all = [...this.paths.keys()];
    this.paths.clear();
    return all;
  }
}
