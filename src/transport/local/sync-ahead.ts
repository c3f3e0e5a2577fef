/**
 * syncfs(2) of a local target's file system while a big staging is still being
 * written (writeMany's batches), at most one at a time: the disk writes the
 * files out as the next ones are made, instead of all of them in the commit's
 * final sync, which still runs (`syncWritten`) and alone makes them durable. A
 * 500,000-file first deploy spent ~0.8 s in that final sync, its other core
 * mostly idle while the writer thread created files. The SSH file helper does
 * the same on its host (bulk-write-protocol.ts). A sync ahead that fails is
 * only a sync not done early: nothing depends on it.
 */
import { runLocal } from './run-local.js';
import { shellQuote } from '../shell-quote.js';

/**
 * syncfs(2) of the file system `base` is on (`sync -f`), else (`orAll`) sync(2) of every one
 * (`sync`): whether one worked. A sync ahead never syncs every file system.
 */
export async function syncFileSystem(base: string, orAll: boolean): Promise<boolean> {
  for (const command of [`sync -f ${shellQuote(base)}`, ...(orAll ? ['sync'] : [])]) {
    const r = await runLocal(command, { cwd: base, timeoutMs: 600_000 });
    if (r.code === 0) return true;
  }
  return false;
}

/** Files written since the last sync ahead before another starts. */
export const SYNC_AHEAD_FILES = 4096;

export class SyncAhead {
  private running: Promise<void> | null = null;
  private since = 0;
  /** How many were started (the tests read it). */
  started = 0;

  /** `sync`: one syncfs of the target's file system; a failure is ignored (the final sync counts). */
  constructor(private readonly sync: () => Promise<unknown>) {}

  /** `files` more written unsynced: a sync starts once enough wait and none runs. */
  wrote(files: number): void {
    this.since += files;
    if (this.running !== null || this.since < SYNC_AHEAD_FILES) return;
    this.since = 0;
    this.started++;
    // One at a time: the next can only start once this one has cleared `running`.
    this.running = this.sync().then(
      () => void (this.running = null),
      () => void (this.running = null),
    );
  }

  /** The final sync is about to run: what was written so far needs no sync ahead. */
  reset(): void {
    this.since = 0;
  }

  /** Resolves once no sync ahead runs (a transport's close: no child outlives it). */
  async idle(): Promise<void> {
    while (this.running !== null) await this.running;
  }
}
