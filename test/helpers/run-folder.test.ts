/**
 * The test run's temporary folder (run-folder.ts): a killed run's folder goes at the next
 * run, a live run's stays, and a tmpfs left mounted inside does not stop the removal.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeRunFolder, mountsUnder, removeRunFolder, removeStaleRuns } from './run-folder.js';

const parent = mkdtempSync(join(os.tmpdir(), 'run-folders-'));
afterAll(() => removeRunFolder(parent));
const root = process.getuid?.() === 0;
/** Root on a file system with the immutable flag (ext4, xfs, btrfs; not tmpfs or overlayfs). */
const immutable = ((): boolean => {
  if (!root) return false;
  const probe = join(parent, 'probe');
  writeFileSync(probe, '');
  try {
    execFileSync('chattr', ['+i', probe], { stdio: 'ignore' });
    execFileSync('chattr', ['-i', probe], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  } finally {
    rmSync(probe, { force: true });
  }
})();

/** A pid that was a process and is gone now. */
function deadPid(): number {
  const pid = spawnSync('sh', ['-c', 'echo $$'], { encoding: 'utf8' }).stdout.trim();
  return Number(pid);
}

describe('run folders', () => {
  it("removes a killed run's folder, keeps a live run's and a folder without an owner", () => {
    const dead = makeRunFolder(parent);
    writeFileSync(join(dead, '.owner'), String(deadPid()));
    mkdirSync(join(dead, 'left', 'deep'), { recursive: true });
    const live = makeRunFolder(parent); // this process's
    const other = join(parent, 'diffship-tests-older');
    mkdirSync(other);
    const unrelated = join(parent, 'something-else');
    mkdirSync(unrelated);
    writeFileSync(join(unrelated, '.owner'), String(deadPid()));

    expect(removeStaleRuns(parent)).toEqual([dead.slice(parent.length + 1)]);
    expect([existsSync(dead), existsSync(live), existsSync(other), existsSync(unrelated)]).toEqual([
      false,
      true,
      true,
      true,
    ]);
    rmSync(live, { recursive: true });
  });

  it.skipIf(!immutable)("leaves a killed run's folder it cannot remove, and goes on with the others", () => {
    const held = makeRunFolder(parent);
    writeFileSync(join(held, '.owner'), String(deadPid()));
    writeFileSync(join(held, 'locked'), 'x');
    execFileSync('chattr', ['+i', join(held, 'locked')]); // not even root removes it
    const dead = makeRunFolder(parent);
    writeFileSync(join(dead, '.owner'), String(deadPid()));
    try {
      expect(removeStaleRuns(parent)).toEqual([dead.slice(parent.length + 1)]);
      expect([existsSync(held), existsSync(dead)]).toEqual([true, false]);
    } finally {
      execFileSync('chattr', ['-i', join(held, 'locked')]);
      rmSync(held, { recursive: true });
    }
  });

  it.skipIf(!root)('unmounts a tmpfs a killed test left mounted inside, then removes the folder', () => {
    const dead = makeRunFolder(parent);
    writeFileSync(join(dead, '.owner'), String(deadPid()));
    const disk = join(dead, 'diffship-fulldisk-x');
    mkdirSync(disk);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', disk]);
    writeFileSync(join(disk, 'filler.bin'), 'x');
    expect(mountsUnder(dead)).toEqual([disk]);

    expect(removeStaleRuns(parent)).toEqual([dead.slice(parent.length + 1)]);
    expect(mountsUnder(dead)).toEqual([]);
    expect(existsSync(dead)).toBe(false);
  });
});
