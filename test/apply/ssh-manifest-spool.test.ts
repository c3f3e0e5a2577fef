/**
 * An SSH update reads the target's manifest (its file of every deployed file, ~136 bytes a
 * line: 13.6 MB at 100,000 files, ~68 MB at 500,000) through a local spool, by offset
 * (helper-spool.ts), not whole into this process's memory: before, the read alone held a buffer
 * of the manifest's size, so an update's peak grew with the target.
 *
 * The real CLI deploys 2,700 files of long paths over a real sshd (a ~1.5 MB manifest), then updates a few of
 * them while a preload records the largest buffer it makes (Buffer.allocUnsafe, alloc, and
 * allocUnsafeSlow). The target is compared with each release, and the spool leaves nothing in
 * the temporary folder. A TMPDIR that cannot hold the copy stops the update before it writes.
 */
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cli } from '../helpers/cli.js';
import { tempDir } from '../helpers/git.js';
import { makeRepo, snapshot, type Tree } from '../helpers/repo.js';
import { startSshd, sshTargetYaml, type Sshd } from '../helpers/sshd.js';

const FILES = 2_700;
/** A deep folder: long paths make a big manifest of few files (each line ~620 bytes). */
const DEEP = Array.from({ length: 9 }, (_, k) => `customer-account-synchronisation-stage-${k}-inbound`).join(
  '/',
);
const pathOf = (i: number) => `integrations/team-${i % 20}/${DEEP}/order-flow-${i}.xml`;

/** Records the largest buffer made; writes it at exit. */
const LARGEST = `
const fs = require('node:fs');
let largest = 0;
for (const name of ['allocUnsafe', 'alloc', 'allocUnsafeSlow']) {
  const made = Buffer[name];
  Buffer[name] = function (size, ...rest) {
    if (size > largest) largest = size;
    return made.call(this, size, ...rest);
  };
}
process.on('exit', () => fs.writeFileSync(process.env.LARGEST_OUT, String(largest)));
`;

let sshd: Sshd;
let repo: ReturnType<typeof makeRepo>;
let work: string;

beforeAll(async () => {
  sshd = await startSshd();
  repo = makeRepo();
  work = tempDir('diffship-ssh-spool-');
  writeFileSync(join(work, 'largest.cjs'), LARGEST);
}, 120_000);

afterAll(async () => {
  await sshd?.stop();
  repo?.cleanup();
  if (work) rmSync(work, { recursive: true, force: true });
});

it('an SSH update never holds the target manifest whole: it is read by offset from an unlinked local copy', () => {
  const release: Tree = {};
  for (let i = 0; i < FILES; i++) release[pathOf(i)] = `<flow id="${i}"/>\n`;
  const first = repo.commit(release);
  for (let i = 0; i < FILES; i += 675) release[pathOf(i)] = `<flow id="${i}" v="2"/>\n`;
  const second = repo.commit(release);

  const target = join(work, 'target');
  const tmp = join(work, 'tmp');
  mkdirSync(tmp);
  writeFileSync(
    join(work, 'diffship.yml'),
    ['waves: [1]', 'targets:', ...sshTargetYaml(sshd, target), ''].join('\n'),
  );
  // --json for the update only: the first deploy's report lists 1.5 MB of paths.
  const deploy = (to: string, out: string, json: string[] = []) =>
    cli(work, ['deploy', '--repo', repo.dir, '--to', to, '--no-progress', ...json], {
      NODE_OPTIONS: `--require ${join(work, 'largest.cjs')}`,
      LARGEST_OUT: out,
      TMPDIR: tmp,
    });

  const r1 = deploy(first, join(work, 'largest-first'));
  expect(r1.stderr).toBe('');
  expect(r1.code).toBe(0);
  const manifests = join(target, '.diffship', 'manifests');
  const [manifest] = readdirSync(manifests);
  const size = statSync(join(manifests, manifest!)).size;
  expect(size).toBeGreaterThan(1.4 * 1024 * 1024);

  // A temporary folder that cannot hold the copy: one line naming it and the fix, the target as
  // it was, no lock or staging left on it.
  // (A file, not a missing folder: Node's compile cache would make a missing one.)
  const before = snapshot(target);
  const notAFolder = join(work, 'not-a-folder');
  writeFileSync(notAFolder, '');
  const refused = cli(work, ['deploy', '--repo', repo.dir, '--to', second, '--no-progress'], {
    TMPDIR: notAFolder,
  });
  // Exit 2: refused before anything was written.
  expect(refused.code).toBe(2);
  expect(refused.stderr.trim().split('\n')).toHaveLength(1);
  expect(refused.stderr).toContain(
    `cannot keep a copy of it in this machine's temporary folder ${notAFolder} (ENOTDIR`,
  );
  expect(refused.stderr).toMatch(/ — make room there, or set TMPDIR to a writable folder with room\n$/);
  expect(refused.stderr).not.toMatch(/\n\s+at /); // no stack trace
  expect(snapshot(target)).toEqual(before);

  const r2 = deploy(second, join(work, 'largest-update'), ['--json']);
  expect(r2.stderr).toBe('');
  expect(r2.code).toBe(0);
  const report = JSON.parse(r2.stdout) as { targets: Array<{ changes: { updated: string[] } }> };
  expect(report.targets[0]!.changes.updated).toHaveLength(4);
  expect(snapshot(target, ['.diffship'])).toEqual(snapshot(repo.dir, ['.git']));
  // Before, the read alone made a buffer of the manifest's size. Now the largest is a frame's
  // (1 MiB) or a range's copy (manifest-stream.ts: 1 MiB).
  const largest = Number(readFileSync(join(work, 'largest-update'), 'utf8'));
  expect(largest).toBeGreaterThan(0);
  expect(largest).toBeLessThanOrEqual(1024 * 1024 + 64 * 1024);
  expect(largest).toBeLessThan(size);
  // The spool was unlinked as it was made: nothing of it left in the temporary folder (where
  // Node keeps its compile cache).
  expect(readdirSync(tmp).filter((name) => name !== 'node-compile-cache')).toEqual([]);
}, 180_000);
