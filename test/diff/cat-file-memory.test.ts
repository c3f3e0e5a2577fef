/**
 * Every `git cat-file` diffship starts streams a big blob out of its pack and
 * maps the pack a window at a time (src/diff/requests.ts CAT_FILE_CONFIG): git
 * 2.39 otherwise reads any blob under 512 MiB whole into memory before it
 * writes a byte, and maps its pack whole, so a deploy of one 200 MiB file had a
 * 404 MiB git child. Through the real CLI onto a real folder, with `git` on
 * PATH run under python3, which logs each git command and its peak RSS.
 */
import { execSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cli } from '../helpers/cli.js';
import { git, SH_GIT_COMMAND, tempDir } from '../helpers/git.js';

const MIB = 2 ** 20;
/** Random, so git stores it whole (no delta) and cannot compress it: a 64 MiB pack entry. */
const BIG = randomBytes(64 * MIB);

let work: string;
let repo: string;
let bin: string;
let head: string;

beforeAll(() => {
  work = tempDir('diffship-cat-file-memory-');
  repo = join(work, 'repo');
  git(work, 'init', '-q', '-b', 'main', repo);
  writeFileSync(join(repo, 'big.bin'), BIG);
  writeFileSync(join(repo, 'small.txt'), 'small\n');
  git(repo, 'add', '-A');
  git(repo, 'commit', '-q', '-m', 'release');
  // Packed, as a fetched or garbage-collected repository is (a loose object streams anyway).
  git(repo, 'repack', '-adq');
  git(repo, 'prune');
  head = git(repo, 'rev-parse', 'HEAD');
  // `git` on PATH: the real one, run by python3, which logs "<command> <peak RSS in KiB>".
  bin = join(work, 'bin');
  mkdirSync(bin);
  const real = execSync('command -v git', { encoding: 'utf8', shell: '/bin/sh' }).trim();
  writeFileSync(
    join(bin, 'rss.py'),
    [
      'import os, resource, subprocess, sys',
      'code = subprocess.call(sys.argv[2:])',
      "with open(os.environ['RSS_LOG'], 'a') as log:",
      "    log.write('%s %d\\n' % (sys.argv[1], resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))",
      'sys.exit(code if code >= 0 else 128 - code)',
      '',
    ].join('\n'),
  );
  const wrapper = `#!/bin/sh\n${SH_GIT_COMMAND}\nexec python3 "${join(bin, 'rss.py')}" "$cmd" "${real}" "$@"\n`;
  writeFileSync(join(bin, 'git'), wrapper);
  chmodSync(join(bin, 'git'), 0o755);
});

afterAll(() => rmSync(work, { recursive: true, force: true }));

it("deploys a 64 MiB file with git's cat-file holding a few MiB of it, not all of it", () => {
  const { target, catFiles } = deployLogged('target', repo, head);
  const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
  expect(sha(readFileSync(join(target, 'big.bin')))).toBe(sha(BIG));
  expect(readFileSync(join(target, 'small.txt'), 'utf8')).toBe('small\n');
  // Whole, the blob alone is 64 MiB in memory (and its pack mapping 64 more): 128+ MiB without the settings.
  expect(Math.max(...catFiles)).toBeLessThan(40);
});

it("keeps git's cache of delta bases to 64 MiB: a release of deltas read with cat-file under 100 MiB", () => {
  // 25 files of 4 MiB, then each with a line more: packed, each old version is a delta against
  // the new one (git keeps the newest whole). Deploying the old release rebuilds every delta from
  // its 4 MiB base: 100 MiB of bases, which git's default cache (96 MiB) would hold.
  const deltas = join(work, 'deltas');
  git(work, 'init', '-q', '-b', 'main', deltas);
  const files = Array.from({ length: 25 }, () => randomBytes(4 * MIB));
  files.forEach((b, i) => writeFileSync(join(deltas, `f${i}.bin`), b));
  // Stored uncompressed (random bytes do not compress): the repository is made in a few seconds.
  git(deltas, 'config', 'core.compression', '0');
  git(deltas, 'add', '-A');
  git(deltas, 'commit', '-q', '-m', 'old');
  const old = git(deltas, 'rev-parse', 'HEAD');
  files.forEach((_, i) => writeFileSync(join(deltas, `f${i}.bin`), 'v2\n', { flag: 'a' }));
  git(deltas, 'add', '-A');
  git(deltas, 'commit', '-q', '-m', 'new');
  git(deltas, 'repack', '-adfq', '--window=2');
  const packed = git(deltas, 'verify-pack', '-v', ...listPackIndexes(deltas));
  // Each old version is stored as a delta (a line with its base's id at its end).
  expect(packed.split('\n').filter((l) => / blob +\d+ \d+ \d+ \d+ [0-9a-f]{40}$/.test(l)).length).toBe(25);
  const { target, catFiles } = deployLogged('delta-target', deltas, old);
  expect(readFileSync(join(target, 'f24.bin')).equals(files[24]!)).toBe(true);
  // ~86 MiB with the 64 MiB cache; ~118 MiB with git's default.
  expect(Math.max(...catFiles)).toBeLessThan(100);
});

/** `diffship deploy` of `to` into a new folder `name`, git on PATH logging: each cat-file's peak RSS (MiB). */
function deployLogged(name: string, from: string, to: string): { target: string; catFiles: number[] } {
  const target = join(work, name);
  const config = join(work, `${name}.yml`);
  writeFileSync(config, ['waves: [1]', 'targets:', '  - name: t', `    path: ${target}`, ''].join('\n'));
  const log = join(work, `${name}-rss.log`);
  const r = cli(work, ['deploy', '--config', config, '--repo', from, '--to', to, '--no-progress'], {
    PATH: `${bin}:${process.env.PATH}`,
    RSS_LOG: log,
  });
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  const catFiles = readFileSync(log, 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('cat-file '))
    .map((l) => Number(l.split(' ')[1]) / 1024);
  expect(catFiles.length).toBeGreaterThan(0);
  return { target, catFiles };
}

/** The pack index files of `repo`. */
function listPackIndexes(repo: string): string[] {
  const dir = join(repo, '.git', 'objects', 'pack');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.idx'))
    .map((f) => join(dir, f));
}
