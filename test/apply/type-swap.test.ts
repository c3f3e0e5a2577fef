/**
 * A release that turns a folder into a file (`x/y` → `x`) or a file into a folder (`x` →
 * `x/y`), also by a rename (`git mv x/y x`): a legitimate release change, shipped in both modes.
 * The folder the release empties goes, and only when nothing else is in it (a file put there
 * by hand keeps the refusal). A failing activate hook rolls back to the old tree exactly.
 * Real git repo, real target folder and a real sshd, through the built CLI.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from '../helpers/cli.js';
import { git, tempDir } from '../helpers/git.js';
import { makeRepo, snapshot } from '../helpers/repo.js';
import { startSshd, type Sshd } from '../helpers/sshd.js';
import { oneTarget } from '../helpers/one-target.js';

let sshd: Sshd | undefined;
const repo = makeRepo();
/** Folder → file, file → folder, and the folder's file renamed onto the folder's name. */
const r = { dir: '', file: '', dirAgain: '', renamed: '' };
beforeAll(async () => {
  r.dir = repo.commit({ 'x/y': 'why\n', 'x/sub/z': 'zed\n', 'keep.txt': 'k\n' });
  r.file = repo.commit({ x: 'ex\n', 'keep.txt': 'k\n' });
  r.dirAgain = repo.commit({ 'x/y': 'why2\n', 'keep.txt': 'k\n' });
  // `git mv x/y x`: one file whose content stays, so git sees a rename.
  r.renamed = (() => {
    writeFileSync(join(repo.dir, 'x/y'), 'a body long enough for git to call this a rename\n');
    git(repo.dir, 'add', '-A');
    git(repo.dir, 'commit', '-q', '-m', 'body');
    git(repo.dir, 'mv', 'x/y', 'x.tmp');
    rmSync(join(repo.dir, 'x'), { recursive: true, force: true }); // the emptied folder
    git(repo.dir, 'mv', 'x.tmp', 'x');
    git(repo.dir, 'commit', '-q', '-m', 'git mv x/y x');
    return git(repo.dir, 'rev-parse', 'HEAD');
  })();
  sshd = await startSshd();
}, 60_000);
afterAll(async () => {
  await sshd?.stop();
  repo.cleanup();
});

const content = (dir: string, p: string) => readFileSync(join(dir, p), 'utf8');

describe.each(['local', 'ssh'] as const)('a release swaps a folder and a file (%s)', (side) => {
  function setup(config: string[]) {
    const one = oneTarget(side, sshd, repo.dir, config);
    const litter = () =>
      readdirSync(join(one.targetDir, '.diffship')).filter(
        (n) =>
          n === 'lock.json' ||
          n === 'journal.json' ||
          (n === 'staging' && readdirSync(join(one.targetDir, '.diffship/staging')).length > 0),
      );
    return { ...one, litter };
  }

  it.each(['additive', 'authoritative'] as const)(
    '%s: folder → file → folder, each shipped exactly',
    (mode) => {
      const { ws, targetDir, deploy, litter } = setup([`mode: ${mode}`]);
      try {
        expect(deploy(r.dir).code).toBe(0);
        const toFile = deploy(r.file);
        expect(toFile.code, toFile.stderr + toFile.stdout).toBe(0);
        expect(snapshot(targetDir)).toEqual({
          x: { type: 'file', content: 'ex\n', exec: false },
          'keep.txt': { type: 'file', content: 'k\n', exec: false },
        });
        const toDir = deploy(r.dirAgain);
        expect(toDir.code, toDir.stderr + toDir.stdout).toBe(0);
        expect(snapshot(targetDir)).toEqual({
          x: { type: 'dir' },
          'x/y': { type: 'file', content: 'why2\n', exec: false },
          'keep.txt': { type: 'file', content: 'k\n', exec: false },
        });
        expect(litter()).toEqual([]);
        // Both undone by `diffship rollback`, byte for byte.
        expect(cli(ws, ['rollback', '--no-progress']).code).toBe(0);
        expect(content(targetDir, 'x')).toBe('ex\n');
        expect(cli(ws, ['rollback', '--no-progress']).code).toBe(0);
        expect(content(targetDir, 'x/y')).toBe('why\n');
        expect(content(targetDir, 'x/sub/z')).toBe('zed\n');
      } finally {
        rmSync(ws, { recursive: true, force: true });
      }
    },
  );

  it.each(['additive', 'authoritative'] as const)('%s: git mv x/y x', (mode) => {
    const { ws, targetDir, deploy } = setup([`mode: ${mode}`]);
    try {
      expect(deploy(r.dirAgain).code).toBe(0);
      const before = deploy(`${r.renamed}~1`);
      expect(before.code, before.stderr).toBe(0);
      const d = deploy(r.renamed);
      expect(d.code, d.stderr + d.stdout).toBe(0);
      expect(snapshot(targetDir)).toEqual({
        x: { type: 'file', content: 'a body long enough for git to call this a rename\n', exec: false },
        'keep.txt': { type: 'file', content: 'k\n', exec: false },
      });
    } finally {
      rmSync(ws, { recursive: true, force: true });
    }
  });

  it.each(['additive', 'authoritative'] as const)(
    '%s: a file put by hand in the folder keeps the refusal, target untouched',
    (mode) => {
      const { ws, targetDir, deploy, stateText, litter } = setup([
        `mode: ${mode}`,
        ...(mode === 'authoritative' ? ['protect: ["x/hand.txt"]'] : []),
      ]);
      try {
        expect(deploy(r.dir).code).toBe(0);
        writeFileSync(join(targetDir, 'x/hand.txt'), 'by hand\n');
        const before = snapshot(targetDir);
        const state = stateText();
        const d = deploy(r.file);
        expect(d.code, d.stderr + d.stdout).toBe(2);
        expect(d.stderr).toContain(
          `x is a folder on the target where the release now has a file: the release empties it, but it also holds 1 file(s) this deploy does not delete: x/hand.txt (${mode === 'authoritative' ? 'protected' : 'not shipped by diffship'}) — move or remove them on the target, then deploy again`,
        );
        expect(d.stderr).not.toMatch(/\n\s+at /);
        expect(snapshot(targetDir)).toEqual(before);
        expect(stateText()).toBe(state);
        expect(litter()).toEqual([]);
      } finally {
        rmSync(ws, { recursive: true, force: true });
      }
    },
  );

  it.each(['additive', 'authoritative'] as const)(
    '%s: empty folders inside the swapped folder come back with a rollback',
    (mode) => {
      const { ws, targetDir, deploy, litter } = setup([`mode: ${mode}`]);
      try {
        expect(deploy(r.dir).code).toBe(0);
        // Empty folders diffship never shipped (git holds none): the swap removes them with the folder.
        mkdirSync(join(targetDir, 'x/empty'));
        mkdirSync(join(targetDir, 'x/sub/deeper/deepest'), { recursive: true });
        const before = snapshot(targetDir);
        const d = deploy(r.file);
        expect(d.code, d.stderr + d.stdout).toBe(0);
        expect(snapshot(targetDir)).toEqual({
          x: { type: 'file', content: 'ex\n', exec: false },
          'keep.txt': { type: 'file', content: 'k\n', exec: false },
        });
        const back = cli(ws, ['rollback', '--no-progress']);
        expect(back.code, back.stderr + back.stdout).toBe(0);
        expect(snapshot(targetDir)).toEqual(before);
        expect(litter()).toEqual([]);
      } finally {
        rmSync(ws, { recursive: true, force: true });
      }
    },
  );

  it.each(['additive', 'authoritative'] as const)(
    '%s: a file dropped into the folder after the plan stops the commit, which is undone',
    (mode) => {
      const { ws, targetDir, deploy, stateText, litter } = setup([
        `mode: ${mode}`,
        'defaults:',
        // Runs after the plan, before the files go in: the folder gains a file the plan never saw.
        `  before: { remote: "if [ \\"$DIFFSHIP_RELEASE\\" = ${r.file} ]; then echo late > x/late.txt; fi" }`,
      ]);
      try {
        expect(deploy(r.dir).code).toBe(0);
        const before = snapshot(targetDir);
        const state = stateText();
        const d = deploy(r.file);
        expect(d.code, d.stderr + d.stdout).toBe(1);
        // The summary wraps long lines: compare the words.
        expect((d.stderr + d.stdout).replace(/\s+/g, ' ')).toMatch(
          /x still holds files this deploy does not remove .* undone: .* is back at release/,
        );
        expect(d.stderr + d.stdout).not.toMatch(/\n\s+at /);
        // The old tree exactly, and the late file kept: nothing lost, nothing half-done.
        expect(snapshot(targetDir)).toEqual({
          ...before,
          'x/late.txt': { type: 'file', content: 'late\n', exec: false },
        });
        expect(stateText()).toBe(state);
        expect(litter()).toEqual([]);
      } finally {
        rmSync(ws, { recursive: true, force: true });
      }
    },
  );

  it('additive: files kept from an earlier deploy block the swap, named with the fix', () => {
    const kept = makeRepo();
    const { ws, targetDir, stateText, litter } = setup([]);
    const deployFrom = (to: string) => cli(ws, ['deploy', '--repo', kept.dir, '--to', to, '--no-progress']);
    try {
      const v1 = kept.commit({ 'x/y': 'why\n', 'x/old.txt': 'old\n' });
      const v2 = kept.commit({ 'x/y': 'why\n' }); // additive: x/old.txt stays on the target, kept
      const v3 = kept.commit({ x: 'ex\n' });
      expect(deployFrom(v1).code).toBe(0);
      expect(deployFrom(v2).code).toBe(0);
      expect(JSON.parse(stateText()).kept).toEqual([expect.objectContaining({ path: 'x/old.txt' })]);
      const before = snapshot(targetDir);
      const state = stateText();
      const d = deployFrom(v3);
      expect(d.code, d.stderr + d.stdout).toBe(2);
      expect(d.stderr).toContain(
        'x is a folder on the target where the release now has a file: the release empties it, but it also holds 1 file(s) this deploy does not delete: x/old.txt (kept by an earlier additive deploy after its release deleted it) — move or remove them on the target, then deploy again',
      );
      expect(snapshot(targetDir)).toEqual(before);
      expect(stateText()).toBe(state);
      expect(litter()).toEqual([]);
      // The fix the message names works: the kept file removed, the swap goes through.
      rmSync(join(targetDir, 'x/old.txt'));
      const again = deployFrom(v3);
      expect(again.code, again.stderr + again.stdout).toBe(0);
      expect(content(targetDir, 'x')).toBe('ex\n');
    } finally {
      kept.cleanup();
      rmSync(ws, { recursive: true, force: true });
    }
  });

  it.each(['additive', 'authoritative'] as const)(
    '%s: a failing activate hook rolls back to the old tree exactly (both directions)',
    (mode) => {
      const { ws, targetDir, deploy, stateText, litter } = setup([
        `mode: ${mode}`,
        'defaults:',
        // Fails on the new release only: the restored one activates fine.
        '  activate: { remote: "test ! -e ../fail-$DIFFSHIP_RELEASE" }',
      ]);
      try {
        expect(deploy(r.dir).code).toBe(0);
        for (const [from, to] of [
          [r.dir, r.file],
          [r.file, r.dirAgain],
        ] as const) {
          if (from !== r.dir) expect(deploy(from).code).toBe(0);
          writeFileSync(join(ws, `fail-${to}`), '');
          const before = snapshot(targetDir);
          const state = stateText();
          const d = deploy(to);
          expect(d.code, d.stderr + d.stdout).toBe(1);
          // The swap was made, then undone: the failure is the hook's, after the commit.
          expect(d.stderr + d.stdout).toMatch(/activate/);
          expect(d.stderr + d.stdout).toMatch(/rolled.back/i);
          expect(d.stderr + d.stdout).not.toMatch(/unhealthy/i);
          expect(snapshot(targetDir)).toEqual(before);
          expect(JSON.parse(stateText()).release).toBe(JSON.parse(state).release);
          expect(litter()).toEqual([]);
          rmSync(join(ws, `fail-${to}`));
        }
      } finally {
        rmSync(ws, { recursive: true, force: true });
      }
    },
  );
});

describe('a release swaps a folder and a file inside a unit revealed whole (units.reveal: unit)', () => {
  it('the unit is built without the folder and swapped in; rollback puts the folder back', () => {
    const units = makeRepo();
    const ws = tempDir('diffship-typeswap-unit-');
    try {
      const v1 = units.commit({ 'packages/P/manifest.v3': 'm\n', 'packages/P/x/y': 'why\n' });
      const v2 = units.commit({ 'packages/P/manifest.v3': 'm\n', 'packages/P/x': 'ex\n' });
      const config = ['units:', '  match: "packages/*"', '  reveal: unit', 'targets:'];
      writeFileSync(join(ws, 'diffship.yml'), [...config, '  - { name: t, path: target }', ''].join('\n'));
      const run = (...args: string[]) => cli(ws, [...args, '--repo', units.dir, '--no-progress']);
      const target = join(ws, 'target');
      expect(run('deploy', '--to', v1).code).toBe(0);
      const old = snapshot(target);
      const d = run('deploy', '--to', v2);
      expect(d.code, d.stderr + d.stdout).toBe(0);
      expect(snapshot(target)).toEqual({
        packages: { type: 'dir' },
        'packages/P': { type: 'dir' },
        'packages/P/manifest.v3': { type: 'file', content: 'm\n', exec: false },
        'packages/P/x': { type: 'file', content: 'ex\n', exec: false },
      });
      const back = run('rollback');
      expect(back.code, back.stderr + back.stdout).toBe(0);
      expect(snapshot(target)).toEqual(old);
    } finally {
      units.cleanup();
      rmSync(ws, { recursive: true, force: true });
    }
  });
});
