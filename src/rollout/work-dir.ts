/**
 * The rollout's scratch folder: the per-target change files hooks get as
 * DIFFSHIP_CHANGES. Created on first use and removed at the end, with
 * synchronous calls: it holds one small file per target, and a run whose
 * targets never need it should not pay a threadpool round trip for it. A run
 * that was killed leaves its folder: the next run that makes one removes it
 * (scratch-dir.ts).
 */
import { rmSync } from 'node:fs';
import { makeScratchDir } from '../scratch-dir.js';

export class WorkDir {
  private dir: string | null = null;

  /** The folder, created now if it does not exist yet. */
  path(): string {
    return (this.dir ??= makeScratchDir('diffship-'));
  }

  /** Remove the folder and everything in it, if it was created. */
  remove(): void {
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
    this.dir = null;
  }
}
