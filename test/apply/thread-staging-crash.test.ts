/**
 * A SIGKILL while a local target's writer thread stages (transport/local/writer-thread.ts: a
 * staging of LOCAL_BULK_MIN files or more; crash.test.ts's smaller stagings go one by one).
 * The thread dies with the process mid-batch: nothing of the release is in place, and the next
 * run converges exactly, leaving no staging behind. Then the same for an update of as many files.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cli, cliStart } from '../helpers/cli.js';
import { makeRepo, snapshot, type SnapEntry, type Tree } from '../helpers/repo.js';
import { tempDir } from '../helpers/git.js';
import { expectOldOrNew } from '../helpers/crash.js';
import { LOCAL_BULK_MIN } from '../../src/apply/stage-bulk.js';

const FILES = LOCAL_BULK_MIN + 500;

function release(version: number): Tree {
  const tree: Tree = {};
  for (let i = 0; i < FILES; i++)
    tree[`d${i % 40}/f${i}.txt`] = `v${version} file ${i}\n`.repeat(1 + (i % 30));
  return tree;
}

/** Files in the deploy's staging folders so far (0 while there is none). */
function stagedCount(target: string): number {
  const staging = join(target, '.diffship', 'staging');
  if (!existsSync(staging)) return 0;
  try {
    return readdirSync(staging, { recursive: true }).length;
  } catch {
    return 0; // removed while read
  }
}

describe('SIGKILL while the writer thread stages', () => {
  let repo: ReturnType<typeof makeRepo>;
  let work: string;
  let snaps: Record<string, SnapEntry>[];

  beforeAll(() => {
    repo = makeRepo();
    snaps = [1, 2].map((v) => {
      repo.commit(release(v));
      execFileSync('git', ['tag', `v${v}`], { cwd: repo.dir });
      return snapshot(repo.dir, ['.git']);
    });
    work = tempDir('diffship-thread-crash-');
    writeFileSync(join(work, 'diffship.yml'), 'waves: [1]\ntargets:\n  - name: host\n    path: ./target\n');
  });
  afterAll(() => {
    repo.cleanup();
    rmSync(work, { recursive: true, force: true });
  });

  /** Start a deploy of `ref`, kill it once at least `files` files are staged; whether it was still running. */
  async function killWhileStaging(ref: string, files: number): Promise<boolean> {
    const target = join(work, 'target');
    const { child, done } = cliStart(work, ['deploy', '--repo', repo.dir, '--to', ref, '--no-progress']);
    let ended = false;
    void done.then(() => (ended = true));
    while (!ended && stagedCount(target) < files) await new Promise((r) => setTimeout(r, 2));
    child.kill('SIGKILL');
    const r = await done;
    return r.code === null;
  }

  it('a first deploy: nothing in place after the kill, the next run converges', async () => {
    const target = join(work, 'target');
    expect(await killWhileStaging('v1', 200)).toBe(true);
    expect(Object.keys(snapshot(target))).toEqual([]);
    const next = cli(work, ['deploy', '--repo', repo.dir, '--to', 'v1', '--no-progress']);
    expect(next.code, next.stderr).toBe(0);
    expect(snapshot(target)).toEqual(snaps[0]);
    expect(existsSync(join(target, '.diffship', 'staging'))).toBe(false);
  }, 120_000);

  it('an update of every file: each old or new after the kill, the next run converges', async () => {
    const target = join(work, 'target');
    expect(await killWhileStaging('v2', 1000)).toBe(true);
    expectOldOrNew(snapshot(target), snaps[0]!, snaps[1]!, 'killed while staging');
    const next = cli(work, ['deploy', '--repo', repo.dir, '--to', 'v2', '--no-progress']);
    expect(next.code, next.stderr).toBe(0);
    expect(snapshot(target)).toEqual(snaps[1]);
    expect(existsSync(join(target, '.diffship', 'staging'))).toBe(false);
  }, 120_000);
});
