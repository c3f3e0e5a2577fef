/**
 * An SSH first deploy's small files, read from the checkout, reach the host through a few
 * buffers used again (src/apply/stage-bulk.ts), not a buffer each: each file's buffer was held
 * until the host answered for its batch, outlived the young generation, and waited for a full
 * collection (up to ~70 MB of them at 100,000 files), whose freed pages malloc then kept: the
 * deploy's peak RSS was 174-188 MiB, 134-141 MiB since (bench/README.md). The batch's bytes go
 * onto the channel as they are, not copied into the outbox's write first (outbox-chunks.ts).
 *
 * The real CLI deploys 3,000 files of 4 KiB onto a real sshd while a preload counts the
 * buffers of 4 KiB and more it makes (Buffer.allocUnsafe: a file read whole, a batch's buffer,
 * ssh2's packets). A buffer reused too early would corrupt a file: the host's hash of every file
 * is checked, and the target is compared with the release.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cli } from '../helpers/cli.js';
import { tempDir } from '../helpers/git.js';
import { makeRepo, snapshot, type Tree } from '../helpers/repo.js';
import { startSshd, sshTargetYaml, type Sshd } from '../helpers/sshd.js';

const FILES = 3_000;
const SIZE = 4096;

/** Bytes from which a buffer counts as a batch's (stage-bulk.ts: 512 KiB of files and room for one more). */
const BATCH_BUFFER = 512 * 1024;

/** Counts Buffer.allocUnsafe calls of SIZE bytes and more, and of BATCH_BUFFER and more; writes both at exit. */
const COUNTER = `
const fs = require('node:fs');
const allocUnsafe = Buffer.allocUnsafe;
let count = 0;
let big = 0;
Buffer.allocUnsafe = function (size) {
  if (size >= ${SIZE}) count++;
  if (size >= ${BATCH_BUFFER}) big++;
  return allocUnsafe.call(this, size);
};
process.on('exit', () => fs.writeFileSync(process.env.COUNT_OUT, JSON.stringify({ count, big })));
`;

let sshd: Sshd;
let repo: ReturnType<typeof makeRepo>;
let work: string;
let head: string;

beforeAll(async () => {
  sshd = await startSshd();
  repo = makeRepo();
  const release: Tree = {};
  for (let i = 0; i < FILES; i++) {
    const line = `<step flow="${i}"/>\n`;
    release[`flows/team-${i % 30}/flow-${i}.xml`] = line.repeat(Math.ceil(SIZE / line.length)).slice(0, SIZE);
  }
  head = repo.commit(release);
  work = tempDir('diffship-ssh-buffers-');
  writeFileSync(join(work, 'counter.cjs'), COUNTER);
}, 120_000);

afterAll(async () => {
  await sshd?.stop();
  repo?.cleanup();
  if (work) rmSync(work, { recursive: true, force: true });
});

it('a first deploy of 3,000 small files over SSH makes far fewer buffers than files, and lands them exactly', () => {
  const target = join(work, 'target');
  writeFileSync(
    join(work, 'diffship.yml'),
    ['waves: [1]', 'targets:', ...sshTargetYaml(sshd, target), ''].join('\n'),
  );
  const out = join(work, 'count');
  const r = cli(work, ['deploy', '--repo', repo.dir, '--to', head, '--no-progress'], {
    NODE_OPTIONS: `--require ${join(work, 'counter.cjs')}`,
    COUNT_OUT: out,
  });
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  expect(snapshot(target)).toEqual(snapshot(repo.dir, ['.git']));
  const { count, big } = JSON.parse(readFileSync(out, 'utf8')) as { count: number; big: number };
  // A buffer a file read: over 3,000 (3,471 measured). Batch buffers used again: ssh2's packets of
  // the 12 MB sent and a few more (478).
  expect(count).toBeGreaterThan(0);
  expect(count).toBeLessThan(FILES / 3);
  // A new batch buffer for each of the ~24 batches, each held until its answer: the same pile-up
  // at a coarser grain. Used again: as many as the batches in flight at once, and one more.
  expect(big).toBeGreaterThan(0);
  expect(big).toBeLessThanOrEqual(8);
}, 120_000);
