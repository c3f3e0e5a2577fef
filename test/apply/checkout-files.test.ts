/**
 * A release's small files read from the repository's checkout instead of git
 * (src/diff/checkout-files.ts): only a file whose bytes hash to the release's
 * blob id is used, anything else comes from git. Through the real CLI onto a
 * real sshd, with `git` on PATH logging the blob ids `cat-file --batch` is
 * asked for, and the file reader alone on real files (a FIFO, a link, a big
 * file, an edited one).
 */
import { execFileSync, execSync } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CheckoutFiles, readMatchingFile, worktreeTop } from '../../src/diff/checkout-files.js';
import { gitBlobId } from '../../src/diff/blob.js';
import { cli } from '../helpers/cli.js';
import { git, tempDir } from '../helpers/git.js';
import { makeRepo, snapshot, type Tree } from '../helpers/repo.js';
import { startSshd, sshTargetYaml, type Sshd } from '../helpers/sshd.js';

const FILES = 120; // above stage-bulk's BULK_MIN (64): staged in batches
const release: Tree = {};
for (let i = 0; i < FILES; i++) release[`flows/f-${String(i).padStart(3, '0')}.xml`] = `<flow id="${i}"/>\n`;
release['run.sh'] = { content: '#!/bin/sh\necho hi\n', mode: 0o755 };

let sshd: Sshd;
let repo: ReturnType<typeof makeRepo>;
let work: string;
let asked: string;
let bin: string;
let head: string;

beforeAll(async () => {
  sshd = await startSshd();
  repo = makeRepo();
  head = repo.commit(release);
  work = tempDir('diffship-checkout-');
  asked = join(work, 'asked.txt');
  // `git` on PATH: the real one, with the ids `cat-file --batch` (blob bytes) is asked for logged,
  // the requests of a `cat-file --batch-command` (git-objects.ts) apart, and each time git is
  // asked for the working tree's top.
  bin = join(work, 'bin');
  execFileSync('mkdir', ['-p', bin]);
  const real = execSync('command -v git', { encoding: 'utf8', shell: '/bin/sh' }).trim();
  writeFileSync(
    join(bin, 'git'),
    [
      '#!/bin/sh',
      'for a in "$@"; do case "$a" in --batch) exec tee -a "$ASKED_LOG" | ' + `"${real}" "$@";;`,
      '  --batch-command) exec tee -a "$ASKED_LOG.command" | ' + `"${real}" "$@";;`,
      '  --show-toplevel) echo "$PWD" >> "$ASKED_LOG.top";; esac; done',
      `exec "${real}" "$@"`,
      '',
    ].join('\n'),
  );
  chmodSync(join(bin, 'git'), 0o755);
});

afterAll(async () => {
  await sshd?.stop();
  repo?.cleanup();
  rmSync(work, { recursive: true, force: true });
});

/** A first deploy of HEAD onto a new folder on the host; returns that folder and the ids git was asked for. */
function deployOnce(
  name: string,
  kind: 'ssh' | 'local' = 'ssh',
  source?: string,
  /** `--repo`: the repository's top by default. */
  repoDir = repo.dir,
): { target: string; ids: string[]; topAsked: number; oneByOne: string[] } {
  const target = join(work, name);
  const lines =
    kind === 'ssh' ? sshTargetYaml(sshd, target, name) : [`  - name: ${name}`, `    path: ${target}`];
  const config = join(work, `${name}.yml`);
  const top = source ? [`source: ${source}`] : [];
  writeFileSync(config, [...top, 'waves: [1]', 'targets:', ...lines, ''].join('\n'));
  rmSync(asked, { force: true });
  rmSync(`${asked}.top`, { force: true });
  rmSync(`${asked}.command`, { force: true });
  const r = cli(work, ['deploy', '--config', config, '--repo', repoDir, '--to', head, '--no-progress'], {
    PATH: `${bin}:${process.env.PATH}`,
    ASKED_LOG: asked,
  });
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  const ids = existsSync(asked) ? readFileSync(asked, 'utf8').split('\n').filter(Boolean) : [];
  const topAsked = existsSync(`${asked}.top`)
    ? readFileSync(`${asked}.top`, 'utf8').split('\n').length - 1
    : 0;
  // The blobs read one by one (`contents <id>`: stage-writes.ts through git-objects.ts).
  const oneByOne = existsSync(`${asked}.command`)
    ? readFileSync(`${asked}.command`, 'utf8')
        .split('\n')
        .filter((l) => l.startsWith('contents '))
    : [];
  return { target, ids, topAsked, oneByOne };
}

const releaseFiles = (folder = '') => {
  const clean = join(work, 'release');
  rmSync(clean, { recursive: true, force: true });
  execFileSync('mkdir', ['-p', clean]);
  execSync(`git -C "${repo.dir}" archive ${head} | tar -x -C "${clean}"`);
  return snapshot(join(clean, folder));
};

describe('staging from the checkout (SSH target)', () => {
  it('a clean checkout of the release: every file comes from it, git is asked for no blob', () => {
    const { target, ids, topAsked } = deployOnce('clean');
    expect(snapshot(target)).toEqual(releaseFiles());
    expect(ids).toEqual([]);
    // --repo is the top (its .git is there): found without a git process.
    expect(topAsked).toBe(0);
  });

  it('with a source folder, its files are found under that folder of the checkout', () => {
    const { target, ids } = deployOnce('sourced', 'ssh', 'flows');
    expect(snapshot(target)).toEqual(releaseFiles('flows'));
    expect(Object.keys(snapshot(target))).toHaveLength(FILES);
    expect(ids).toEqual([]);
  });

  it('with --repo a folder inside the working tree, the checkout is found at its top', () => {
    const { target, ids, topAsked } = deployOnce('inside', 'ssh', undefined, join(repo.dir, 'flows'));
    expect(snapshot(target)).toEqual(releaseFiles());
    expect(ids).toEqual([]);
    expect(topAsked).toBe(1); // no .git here: git says where the top is
  });

  it('files edited, replaced by a link or removed in the checkout come from git: the target holds the release', () => {
    const edited = join(repo.dir, 'flows/f-007.xml');
    const linked = join(repo.dir, 'flows/f-050.xml');
    const gone = join(repo.dir, 'flows/f-099.xml');
    const blobOf = (p: string) => git(repo.dir, 'rev-parse', `${head}:${p}`);
    try {
      writeFileSync(edited, '<flow id="7" edited/>\n');
      unlinkSync(linked);
      symlinkSync('f-007.xml', linked);
      unlinkSync(gone);
      const { target, ids } = deployOnce('dirty');
      expect(snapshot(target)).toEqual(releaseFiles());
      expect(ids.sort()).toEqual(
        ['flows/f-007.xml', 'flows/f-050.xml', 'flows/f-099.xml'].map(blobOf).sort(),
      );
    } finally {
      git(repo.dir, 'checkout', '-q', '--', '.');
      rmSync(linked, { force: true });
      git(repo.dir, 'checkout', '-q', '--', '.');
    }
  });

  it('a checkout of another release is given up on after its first files: git reads the rest', () => {
    const other: Tree = {};
    for (const path of Object.keys(release)) other[path] = `other ${path}\n`;
    const otherHead = repo.commit(other, 'other');
    try {
      git(repo.dir, 'checkout', '-q', otherHead);
      const { target, ids } = deployOnce('other');
      expect(snapshot(target)).toEqual(releaseFiles());
      expect(ids).toHaveLength(FILES + 1);
    } finally {
      git(repo.dir, 'reset', '-q', '--hard', head);
    }
  });

  it('a local target reads from git (its writer thread, not git, is its critical path; so few files go one by one)', () => {
    const { target, ids, oneByOne } = deployOnce('here', 'local');
    expect(snapshot(target)).toEqual(releaseFiles());
    // Under stage-bulk's LOCAL_BULK_MIN: no batch, each blob asked of git's long-lived reader.
    expect(ids).toEqual([]);
    const blobs = git(repo.dir, 'ls-tree', '-r', '--format=%(objectname)', head).split('\n');
    expect(blobs).toHaveLength(FILES + 1);
    const read = new Set(oneByOne.map((l) => l.slice('contents '.length)));
    expect(blobs.filter((b) => !read.has(b))).toEqual([]);
  });
});

describe('worktreeTop', () => {
  const dir = tempDir('diffship-worktree-top-');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const gitTop = (folder: string, env: NodeJS.ProcessEnv = {}) =>
    execFileSync('git', ['-C', folder, 'rev-parse', '--show-toplevel'], {
      encoding: 'utf8',
      env: { ...process.env, ...env },
    }).trim();

  it("answers git's own top: at the top, in a linked worktree, inside one, and null for a bare repository", async () => {
    const top = join(dir, 'r');
    execFileSync('git', ['init', '-q', top]);
    git(top, 'commit', '-q', '--allow-empty', '-m', 'first');
    execFileSync('mkdir', ['-p', join(top, 'inner')]);
    git(top, 'worktree', 'add', '-q', join(dir, 'linked'));
    execFileSync('git', ['clone', '-q', '--bare', top, join(dir, 'bare.git')]);
    for (const folder of [top, join(dir, 'linked'), join(top, 'inner')])
      expect(await worktreeTop(folder)).toBe(gitTop(folder));
    expect(await worktreeTop(join(dir, 'bare.git'))).toBeNull();
  });

  it('with a variable that moves the working tree, asks git (the .git folder says nothing then)', async () => {
    const top = join(dir, 'moved');
    const elsewhere = join(dir, 'elsewhere');
    execFileSync('git', ['init', '-q', top]);
    execFileSync('mkdir', ['-p', elsewhere]);
    process.env.GIT_WORK_TREE = elsewhere;
    try {
      expect(await worktreeTop(top)).toBe(gitTop(top));
      expect(await worktreeTop(top)).toBe(elsewhere);
    } finally {
      delete process.env.GIT_WORK_TREE;
    }
  });
});

describe('readMatchingFile', () => {
  const dir = tempDir('diffship-checkout-read-');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const bytes = Buffer.from('hello\n');
  const id = gitBlobId(bytes);

  it('answers the bytes of a regular file with that blob id, and null for anything else', () => {
    writeFileSync(join(dir, 'same'), bytes);
    writeFileSync(join(dir, 'other'), 'hello!\n');
    symlinkSync('same', join(dir, 'link'));
    writeFileSync(join(dir, 'big'), Buffer.alloc(2048, 1));
    execFileSync('mkfifo', [join(dir, 'fifo')]);
    expect(readMatchingFile(join(dir, 'same'), id, 1024, 'sha1')).toEqual(bytes);
    expect(readMatchingFile(join(dir, 'other'), id, 1024, 'sha1')).toBeNull();
    expect(readMatchingFile(join(dir, 'link'), id, 1024, 'sha1')).toBeNull();
    expect(readMatchingFile(join(dir, 'missing'), id, 1024, 'sha1')).toBeNull();
    expect(readMatchingFile(dir, id, 1024, 'sha1')).toBeNull();
    // A FIFO with no writer: not waited on.
    expect(readMatchingFile(join(dir, 'fifo'), id, 1024, 'sha1')).toBeNull();
    const big = Buffer.alloc(2048, 1);
    expect(readMatchingFile(join(dir, 'big'), gitBlobId(big), 1024, 'sha1')).toBeNull();
    expect(readMatchingFile(join(dir, 'big'), gitBlobId(big), 2048, 'sha1')).toEqual(big);
    expect(readMatchingFile(join(dir, 'same'), gitBlobId(bytes, 'sha256'), 1024, 'sha256')).toEqual(bytes);
  });

  it('CheckoutFiles stops reading once most of its first 64 files missed, and keeps on while most hit', () => {
    writeFileSync(join(dir, 'same'), bytes);
    const missing = new CheckoutFiles(dir, 1024, 'sha1');
    for (let i = 0; i < 64; i++) expect(missing.read(`nothing-${i}`, id)).toBeNull();
    expect(missing.promising).toBe(false);
    // Given up: even a file that is there is not read.
    expect(missing.read('same', id)).toBeNull();
    const mostly = new CheckoutFiles(dir, 1024, 'sha1');
    for (let i = 0; i < 200; i++)
      expect(mostly.read(i % 3 === 0 ? 'other' : 'same', id) === null).toBe(i % 3 === 0);
    expect(mostly.promising).toBe(true);
  });
});
