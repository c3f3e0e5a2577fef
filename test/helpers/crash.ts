/** Pieces of the crash tests: kill a deploy inside its commit, then judge what it left. */
import type { ChildProcess } from 'node:child_process';
import { expect } from 'vitest';
import type { SnapEntry } from './repo.js';

type Snap = Record<string, SnapEntry>;

/** Resolves when a deploy's progress says the renames into place began (or it ended). */
export function untilCommit(child: ChildProcess): Promise<void> {
  return new Promise<void>((resolve) => {
    const onData = (d: Buffer) => {
      if (!/\] commit \d+\/\d+/.test(d.toString())) return;
      child.stderr!.off('data', onData);
      resolve();
    };
    child.stderr!.on('data', onData);
    child.on('close', () => resolve());
  });
}

/**
 * Every entry of `snap` is wholly its v1 or its v2 version, and no file both releases
 * hold has vanished. Returns whether the tree is a mix of the two (neither release).
 */
export function expectOldOrNew(snap: Snap, v1: Snap, v2: Snap, where: string): boolean {
  for (const [path, entry] of Object.entries(snap)) {
    const ok = [v1[path], v2[path]].some(
      (e) => e !== undefined && JSON.stringify(e) === JSON.stringify(entry),
    );
    expect(ok, `${path} is neither its v1 nor its v2 version (${where})`).toBe(true);
  }
  for (const path of Object.keys(v1)) {
    if (v2[path] !== undefined && v1[path]?.type === 'file') {
      expect(snap[path], `${path} vanished (${where})`).toBeDefined();
    }
  }
  return JSON.stringify(snap) !== JSON.stringify(v1) && JSON.stringify(snap) !== JSON.stringify(v2);
}
