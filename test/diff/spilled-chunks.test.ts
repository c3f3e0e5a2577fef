/**
 * A listing's columns past their memory budget (src/diff/spilled-chunks.ts): full chunks go to
 * an unlinked temporary file and come back byte for byte, in any order of reading, through a few
 * buffers; where the temp folder refuses the file they stay in memory, and a chunk that cannot be
 * read back is an error naming the folder. The listing's table and
 * path column read back right while spilled, and a real first deploy through the CLI with every
 * chunk spilled (seen opening its file, under strace) writes the release exactly; a bad budget
 * in the environment stops a deploy before it writes, naming the value and the fix.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  ftruncateSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ListedFiles } from '../../src/diff/listed-files.js';
import { PathColumn } from '../../src/diff/path-column.js';
import { listingMemory, SpilledChunks } from '../../src/diff/spilled-chunks.js';
import { BIN, cli } from '../helpers/cli.js';
import { git, gitBytes, tempDir } from '../helpers/git.js';
import { snapshot } from '../helpers/repo.js';

const work = tempDir('diffship-spilled-chunks-');
afterAll(() => rmSync(work, { recursive: true, force: true }));
const tmp = process.env.TMPDIR;
afterEach(() => {
  if (tmp === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = tmp;
  delete process.env.DIFFSHIP_LISTING_MEMORY;
});

/** `count` chunks of `size` random bytes, added to `column` (each filled before the next). */
function fill(column: SpilledChunks, count: number): Buffer[] {
  const made: Buffer[] = [];
  for (let n = 0; n < count; n++) {
    const bytes = randomBytes(column.chunkBytes);
    bytes.copy(column.add());
    made.push(bytes);
  }
  return made;
}

/** Every chunk read back, in order, backwards and at random, equals what went in. */
function expectReadsBack(column: SpilledChunks, made: Buffer[]): void {
  const order = [...made.keys(), ...[...made.keys()].reverse()];
  let seed = 11;
  for (let k = 0; k < 200; k++) order.push((seed = (seed * 1103515245 + 12345) % 2 ** 31) % made.length);
  for (const n of order) expect(column.get(n).equals(made[n]!)).toBe(true);
}

const openFiles = (): number => readdirSync('/proc/self/fd').length;

describe('spilled chunks', () => {
  it('send full chunks past the budget to one unlinked file and read them back exactly', () => {
    const dir = join(work, 'tmp');
    mkdirSync(dir); // the spill file must leave no name in it
    process.env.TMPDIR = dir;
    const before = openFiles();
    const column = new SpilledChunks(4096, 3 * 4096);
    const made = fill(column, 40);
    expect(column.spilled).toBe(true);
    // One descriptor for the column's file, and no name left in the temp folder.
    expect(openFiles()).toBe(before + 1);
    expect(readdirSync(dir)).toEqual([]);
    expectReadsBack(column, made);
    // Within the budget, nothing spills.
    const small = new SpilledChunks(4096, 64 * 4096);
    expectReadsBack(small, fill(small, 10));
    expect(small.spilled).toBe(false);
  });

  it('keep the chunks in memory where the temp folder refuses the file', () => {
    process.env.TMPDIR = join(work, 'no-such-folder');
    const column = new SpilledChunks(1024, 0);
    const made = fill(column, 30);
    expect(column.spilled).toBe(false);
    expectReadsBack(column, made);
  });

  it('name the temp folder and the fix when a spilled chunk cannot be read back', () => {
    const dir = join(work, 'tmp-lost');
    mkdirSync(dir);
    process.env.TMPDIR = dir;
    const linkOf = (n: string): string => {
      try {
        return readlinkSync(`/proc/self/fd/${n}`);
      } catch {
        return '';
      }
    };
    const spillFiles = () =>
      readdirSync('/proc/self/fd').filter((n) => /diffship-listing-.* \(deleted\)$/.test(linkOf(n)));
    const before = new Set(spillFiles().map(linkOf));
    const column = new SpilledChunks(1024, 0);
    fill(column, 3);
    // Its file cut short under it (as a failing disk loses what it held); the descriptor stays its own.
    const fd = spillFiles().find((n) => !before.has(linkOf(n)));
    expect(fd).toBeDefined();
    ftruncateSync(Number(fd), 0);
    expect(() => column.get(0)).toThrow(
      `reading the release's listing back from its temporary file in ${dir} failed (the file ended early): check that folder's disk, or point TMPDIR at another`,
    );
    expect(column.get(2).length).toBe(1024); // the last chunk never left memory
  });

  it('take their budget from DIFFSHIP_LISTING_MEMORY, and name a bad one', () => {
    expect(listingMemory()).toBe(2 * 2 ** 20);
    process.env.DIFFSHIP_LISTING_MEMORY = '0';
    expect(listingMemory()).toBe(0);
    process.env.DIFFSHIP_LISTING_MEMORY = '64MB';
    expect(() => listingMemory()).toThrow(
      'DIFFSHIP_LISTING_MEMORY="64MB" is not a byte count: give a whole number of bytes',
    );
  });

  it("hold a listing's paths and its table while spilled", () => {
    const paths = Array.from(
      { length: 60_000 },
      (_, i) => `flows/team-${String(Math.floor(i / 300)).padStart(4, '0')}/flow-${i}-é.xml`,
    );
    const column = new PathColumn(0);
    for (const p of paths) column.push(p);
    const table = new ListedFiles(40, 0);
    const ids = paths.map((_, i) => i.toString(16).padStart(40, '7'));
    paths.forEach((p, i) => table.keep(p, i % 5 === 0 ? '100755' : '100644', Buffer.from(ids[i]!), 0));
    let seed = 3;
    const order = [...paths.keys()];
    for (let k = 0; k < 5_000; k++) order.push((seed = (seed * 1103515245 + 12345) % 2 ** 31) % paths.length);
    for (const i of order) {
      expect(column.at(i)).toBe(paths[i]);
      const f = table.file(i);
      expect([f.path, f.blob, f.mode]).toEqual([paths[i], ids[i], i % 5 === 0 ? '100755' : '100644']);
    }
  });
});

it('lets a first deploy spill every chunk of its listing and still write the release exactly', () => {
  // 12,000 files (past the 8,192 a listing keeps as strings), made with fast-import: the table's
  // first chunk and the path column's first spill.
  const repo = join(work, 'repo');
  git(work, 'init', '-q', '-b', 'main', repo);
  const files = new Map<string, string>();
  const stream = ['commit refs/heads/main', 'committer t <t@t> 0 +0000', 'data 0'];
  for (let i = 0; i < 12_000; i++) {
    // Names that share little with their neighbours: ~40 bytes a path in the column, two chunks.
    const path = `d${i % 37}/sub-${Math.floor(i / 1000)}/${randomBytes(16).toString('hex')}-${i}.txt`;
    const body = `file ${i} ${randomBytes(6).toString('hex')}\n`;
    files.set(path, body);
    stream.push(`M ${i % 7 === 0 ? '100755' : '100644'} inline ${path}`, `data ${body.length}`, body);
  }
  gitBytes(repo, ['fast-import', '--quiet'], `${stream.join('\n')}\n`);
  const target = join(work, 'target');
  writeFileSync(join(work, 'diffship.yml'), `waves: [1]\ntargets:\n  - name: t\n    path: ${target}\n`);
  const trace = join(work, 'strace.log');
  const r = spawnSync(
    'strace',
    [
      '-f',
      '-e',
      'trace=openat',
      '-o',
      trace,
      process.execPath,
      BIN,
      'deploy',
      '--to',
      'main',
      '--repo',
      repo,
      '--no-progress',
    ],
    { cwd: work, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1', DIFFSHIP_LISTING_MEMORY: '0' } },
  );
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  // The listing's columns went to their file.
  expect(readFileSync(trace, 'utf8')).toMatch(
    /openat\(.*diffship-listing-\d+-[0-9a-f]{12}", O_RDWR\|O_CREAT\|O_EXCL/,
  );
  const got = Object.entries(snapshot(target)).filter(([, e]) => e.type === 'file');
  expect(got.length).toBe(files.size);
  for (const [path, e] of got) expect([path, e.content]).toEqual([path, files.get(path)]);
  const exec = new Set([...files.keys()].filter((_, i) => i % 7 === 0));
  for (const [path, e] of got) expect([path, e.exec]).toEqual([path, exec.has(path)]);
});

it('refuses a bad DIFFSHIP_LISTING_MEMORY before writing anything, naming the value and the fix', () => {
  const repo = join(work, 'small');
  git(work, 'init', '-q', '-b', 'main', repo);
  writeFileSync(join(repo, 'a.txt'), 'a\n');
  git(repo, 'add', '-A');
  git(repo, 'commit', '-q', '-m', 'r');
  const target = join(work, 'small-target');
  const config = join(work, 'small.yml');
  writeFileSync(config, `waves: [1]\ntargets:\n  - name: t\n    path: ${target}\n`);
  const deploy = (memory?: string) =>
    cli(work, ['deploy', '--config', config, '--repo', repo, '--no-progress'], {
      DIFFSHIP_LISTING_MEMORY: memory,
    });
  const refused = (r: ReturnType<typeof cli>) => {
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      'diffship: DIFFSHIP_LISTING_MEMORY="64MB" is not a byte count: give a whole number of bytes (0 spills all but the last chunk), or unset it\n',
    );
  };
  refused(deploy('64MB'));
  expect(existsSync(target)).toBe(false);
  // An update (which may build no listing) is refused the same, its target untouched.
  expect(deploy().code).toBe(0);
  writeFileSync(join(repo, 'a.txt'), 'b\n');
  git(repo, 'commit', '-q', '-am', 'r2');
  refused(deploy('64MB'));
  expect(readFileSync(join(target, 'a.txt'), 'utf8')).toBe('a\n');
});
