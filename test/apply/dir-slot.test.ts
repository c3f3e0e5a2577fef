/**
 * A folder on the target where the release has a file (`a/b.txt/`, empty or not): no mode may
 * report the deploy done with the file missing. The plan stops before any write (exit 2, also in
 * the preflight), naming the path and the fix; the target is left as it was. Real git repo, real
 * target folder and a real sshd, through the built CLI.
 */
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeRepo, snapshot } from '../helpers/repo.js';
import { startSshd, type Sshd } from '../helpers/sshd.js';
import { oneTarget } from '../helpers/one-target.js';

let sshd: Sshd | undefined;
const repo = makeRepo();
let v1 = '';
let v2 = '';
let v3 = '';
beforeAll(async () => {
  v1 = repo.commit({ 'a/b.txt': 'bee\n', 'c.txt': 'one\n' });
  v2 = repo.commit({ 'a/b.txt': 'bee\n', 'c.txt': 'two\n' }); // a/b.txt unchanged
  v3 = repo.commit({ 'a/b.txt': 'bee3\n', 'c.txt': 'two\n' }); // a/b.txt changed
  sshd = await startSshd();
}, 60_000);
afterAll(async () => {
  await sshd?.stop();
  repo.cleanup();
});

const REFUSED =
  /1 folder\(s\) on the target where the release has a file: a\/b\.txt — move or remove each folder on the target/;

describe.each(['local', 'ssh'] as const)('a folder where the release has a file (%s)', (side) => {
  function setup(config: string[]) {
    const one = oneTarget(side, sshd, repo.dir, config);
    /** Nothing half-done in the state folder: no staging, no lock. */
    const litter = () =>
      readdirSync(join(one.targetDir, '.diffship')).filter((n) => n === 'lock.json' || n === 'staging');
    return { ...one, litter };
  }
  const isFile = (p: string) => existsSync(p) && lstatSync(p).isFile();

  it('authoritative, an empty folder, the file unchanged by the release: refused, untouched; fixed by removing it', () => {
    const { ws, targetDir, deploy, stateText, litter } = setup(['mode: authoritative']);
    try {
      expect(deploy(v1).code).toBe(0);
      rmSync(join(targetDir, 'a/b.txt'));
      mkdirSync(join(targetDir, 'a/b.txt'));
      const before = snapshot(targetDir);
      const state = stateText();
      // on-drift: overwrite must not turn it into a success either.
      // Without the preflight the target's own plan refuses it: that target failed (exit 1).
      for (const [extra, code] of [
        [[], 2],
        [['--on-drift', 'overwrite'], 2],
        [['--skip-preflight', '--on-drift', 'overwrite'], 1],
      ] as const) {
        const r = deploy(v2, ...extra);
        expect(r.code, r.stderr + r.stdout).toBe(code);
        expect(r.stderr + r.stdout.replace(/\n\s+/g, ' ')).toMatch(REFUSED);
        expect(r.stderr).not.toMatch(/\n\s+at /); // one line, no stack
        expect(snapshot(targetDir)).toEqual(before);
        expect(stateText()).toBe(state);
        expect(
          litter().filter(
            (n) => n !== 'staging' || readdirSync(join(targetDir, '.diffship/staging')).length > 0,
          ),
        ).toEqual([]);
      }
      // The fix the message names works.
      rmSync(join(targetDir, 'a/b.txt'), { recursive: true });
      const fixed = deploy(v2, '--on-drift', 'overwrite');
      expect(fixed.code, fixed.stderr).toBe(0);
      expect(readFileSync(join(targetDir, 'a/b.txt'), 'utf8')).toBe('bee\n');
    } finally {
      rmSync(ws, { recursive: true, force: true });
    }
  });

  it('authoritative first deploy, a non-empty folder: refused before any write, its files kept', () => {
    const { ws, targetDir, deploy } = setup(['mode: authoritative']);
    try {
      mkdirSync(join(targetDir, 'a/b.txt'), { recursive: true });
      writeFileSync(join(targetDir, 'a/b.txt/inner.txt'), 'by hand');
      const before = snapshot(targetDir);
      const r = deploy(v1);
      expect(r.code, r.stderr + r.stdout).toBe(2);
      expect(r.stderr).toMatch(REFUSED);
      expect(snapshot(targetDir)).toEqual(before);
      expect(existsSync(join(targetDir, '.diffship/state.json'))).toBe(false);
    } finally {
      rmSync(ws, { recursive: true, force: true });
    }
  });

  it('additive: a non-empty folder where the release changes the file, and drift-scope all on an unchanged one', () => {
    const { ws, targetDir, deploy, stateText } = setup(['mode: additive']);
    try {
      expect(deploy(v1).code).toBe(0);
      rmSync(join(targetDir, 'a/b.txt'));
      mkdirSync(join(targetDir, 'a/b.txt'));
      writeFileSync(join(targetDir, 'a/b.txt/inner.txt'), 'by hand');
      const before = snapshot(targetDir);
      const state = stateText();
      for (const [to, extra] of [
        [v3, ['--on-drift', 'overwrite']],
        [v2, ['--drift-scope', 'all', '--on-drift', 'overwrite']],
      ] as const) {
        const r = deploy(to, ...extra);
        expect(r.code, r.stderr + r.stdout).toBe(2);
        expect(r.stderr).toMatch(REFUSED);
        expect(snapshot(targetDir)).toEqual(before);
        expect(stateText()).toBe(state);
      }
      expect(isFile(join(targetDir, 'a/b.txt/inner.txt'))).toBe(true);
    } finally {
      rmSync(ws, { recursive: true, force: true });
    }
  });
});
