// The SSH benchmarks' release pair (run.mjs, kills.mjs): `files` files of 4 KiB under flows/,
// tagged A, and B with 100 of them rewritten (same sizes). Made once per file count in the OS
// temp folder with git fast-import; a checkout `co` (what rsync copies) and a linked worktree
// `wt` (what diffship deploys from, as a CI job has one) switched together by `switchBoth`.
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { checkout, fastImportRepo, run, switchCheckout, treeDigest } from '../lib.mjs';

const SIZE = 4 * 1024;
export const CHANGED = 100;

const pathOf = (i) => `flows/team-${String(i % 40).padStart(2, '0')}/flow-${String(i).padStart(4, '0')}.xml`;
/** 4 KiB of text, different for every file and revision (so nothing compresses to nothing). */
const contentOf = (i, rev = 0) => {
  let s = `<flow id="${i}" rev="${rev}">\n`;
  for (let l = 0; s.length < SIZE - 40; l++)
    s += `  <step n="${l}" act="a${(i * 7919 + l * 104729 + rev) % 1000003}"/>\n`;
  return Buffer.from(`${s}</flow>\n`.padEnd(SIZE, ' '));
};

function* releaseFiles(files) {
  for (let i = 0; i < files; i++) yield [pathOf(i), contentOf(i)];
}

function* changedFiles(files) {
  for (let k = 0; k < CHANGED; k++) {
    const i = k * (files / CHANGED) + 7;
    yield [pathOf(i), contentOf(i, 1)];
  }
}

/**
 * The repository (made if missing), its checkout and worktree at A, and the digests of A and B.
 * `fromRepo`: no worktree (diffship reads every blob from git).
 */
export function sshRelease(files, { fromRepo = false } = {}) {
  const base = path.join(
    os.tmpdir(),
    files === 2_000 ? 'diffship-bench-ssh-v1' : `diffship-bench-ssh-v1-${files}`,
  );
  const repo = path.join(base, 'repo');
  // Generated as the import takes them: 500,000 files of 4 KiB held at once were 2 GB.
  fastImportRepo(repo, [
    { tag: 'A', files: releaseFiles(files) },
    { tag: 'B', files: changedFiles(files) },
  ]);
  const co = path.join(base, 'checkout');
  checkout(repo, 'A', co);
  const releaseA = treeDigest(co);
  switchCheckout(repo, co, 'A', 'B');
  const releaseB = treeDigest(co);
  switchCheckout(repo, co, 'B', 'A');
  const wt = path.join(base, 'worktree');
  if (!fromRepo) {
    spawnSync('git', ['-C', repo, 'worktree', 'remove', '--force', wt], { stdio: 'ignore' });
    rmSync(wt, { recursive: true, force: true });
    run('git', ['-C', repo, 'worktree', 'add', '-q', '--detach', wt, 'A']);
  }
  const switchBoth = (from, to) => {
    switchCheckout(repo, co, from, to);
    if (!fromRepo) run('git', ['-C', wt, 'checkout', '-q', to]);
  };
  return { base, repo, co, wt, releaseA, releaseB, switchBoth };
}
