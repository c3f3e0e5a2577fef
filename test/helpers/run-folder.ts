/**
 * The test run's own temporary folder (global-setup.ts), and what a run that did not end
 * well leaves of it. The disk-full tests (faults, ssh-faults, stat-column) mount a tiny
 * tmpfs inside it as root and unmount it in their own cleanup: a worker killed mid-test
 * leaves it mounted, and removing the folder then stops at the busy mount point. A run
 * killed whole (SIGKILL, a closed terminal) leaves its folder: the next run removes it.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { processAlive } from '../../src/apply/lock.js';

const PREFIX = 'diffship-tests-';
/** Holds the pid of the vitest process that made the folder. */
const OWNER = '.owner';

/** Mount points at or under `dir`, deepest first (mountinfo's 5th field; `\040` is a space). */
export function mountsUnder(dir: string): string[] {
  const points = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) =>
      line.split(' ')[4]?.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))),
    )
    .filter((p): p is string => p !== undefined && (p === dir || p.startsWith(`${dir}/`)));
  return points.sort().reverse();
}

/** Unmount what is mounted under `dir` (lazily: a process may still be ending in it), then remove it. */
export function removeRunFolder(dir: string): void {
  for (const point of mountsUnder(dir)) {
    try {
      execFileSync('umount', ['-l', point], { stdio: 'ignore' });
    } catch {
      // Not root, or gone meanwhile: the removal below says what is left.
    }
  }
  rmSync(dir, { recursive: true, force: true });
}

/** Remove the folders of earlier runs in `parent` whose vitest process is gone; their names. */
export function removeStaleRuns(parent: string): string[] {
  const removed: string[] = [];
  for (const name of readdirSync(parent)) {
    if (!name.startsWith(PREFIX)) continue;
    let pid: number;
    try {
      pid = Number(readFileSync(join(parent, name, OWNER), 'utf8'));
    } catch {
      continue; // not one of ours, or made before owners were written: left alone
    }
    if (!Number.isInteger(pid) || pid <= 0 || processAlive(pid)) continue;
    try {
      removeRunFolder(join(parent, name));
      removed.push(name);
    } catch {
      // Another user's, or held some other way: a leftover is no reason to stop this run.
    }
  }
  return removed;
}

/** A new run folder in `parent`, owned by this process. */
export function makeRunFolder(parent: string): string {
  const dir = mkdtempSync(join(parent, PREFIX));
  writeFileSync(join(dir, OWNER), String(process.pid));
  return dir;
}
