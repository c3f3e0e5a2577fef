/**
 * A real full disk for fault tests: a tiny tmpfs mounted on a temp folder
 * (root only: `isRoot` says whether a test can have one), and a filler that
 * takes its last byte. One helper for the local, SSH and stat-spill tests.
 */
import { execFileSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { tempDir } from './git.js';

export const isRoot = process.getuid?.() === 0;

/**
 * A tmpfs of `kb` KiB on a new temp folder; its unmount and removal go on `cleanups`. A
 * process still ending inside it (an SSH session's helper) keeps it busy: it is detached
 * then (`umount -l`), freed once that process goes.
 */
export function tinyDisk(kb: number, cleanups: Array<() => void>, prefix = 'diffship-fulldisk-'): string {
  const dir = tempDir(prefix);
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${kb}k`, 'tmpfs', dir]);
  cleanups.push(() => {
    try {
      execFileSync('umount', [dir]);
    } catch {
      execFileSync('umount', ['-l', dir]);
    }
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

/** Fill the disk holding `dir` to the last byte; the filler's path, to free the room again. */
export function fill(dir: string): string {
  const filler = join(dir, 'filler.bin');
  try {
    writeFileSync(filler, Buffer.alloc(64 * 1024 * 1024, 1));
  } catch (error) {
    expect((error as NodeJS.ErrnoException).code).toBe('ENOSPC');
  }
  return filler;
}
