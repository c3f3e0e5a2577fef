/**
 * A built release (`deploy --dir build/carbonapps`): a folder git doesn't know,
 * turned into a git tree so that everything downstream (diff, plan, stage,
 * verify the blob, rollback) works on it unchanged. The tree id is the
 * release id, so the same build deployed twice is a no-op.
 *
 * Files are taken as git takes them: 100755 when any x bit is set, else
 * 100644; a symlink is 120000 with its link text as the blob; empty folders
 * vanish. Bytes are hashed as they are (`--no-filters`: no CRLF or attribute
 * conversion). Three git processes in all, whatever the file count:
 * `hash-object -w --stdin-paths`, `update-index --index-info` into a private
 * index, `write-tree`.
 *
 * Objects go into the repository when `repo` is one, else into a private bare
 * store (`.diffship-cache/objects.git` next to the config), shared by every
 * target of every run, so nothing is stored once per target.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DiffshipError, GitError } from '../errors.js';
import { firstMessage, gitEnv } from './git.js';
import { makeScratchDir } from '../scratch-dir.js';

export interface BuiltRelease {
  /** The tree id: the release id reports, state and `{release}` use. */
  tree: string;
  /** The repository holding its objects: `repo`, or the private store. */
  repo: string;
  files: number;
}

export interface BuildOptions {
  dir: string;
  /** The repository to write objects into, when it is one. */
  repo: string;
  /** Where the private store goes when `repo` is not a repository (a folder next to the config). */
  cacheDir: string;
}

interface Item {
  path: string;
  mode: '100644' | '100755' | '120000';
  /** What hash-object reads: the file, or a temporary file holding a link's text. */
  source: string;
}

/**
 * Hash a built folder into git objects and build its tree.
 * @throws DiffshipError E_USAGE for a missing folder or an entry git can't hold; GitError E_GIT.
 */
export async function buildRelease(o: BuildOptions): Promise<BuiltRelease> {
  const root = resolve(o.dir);
  const stat = fs.statSync(root, { throwIfNoEntry: false });
  if (!stat?.isDirectory())
    throw new DiffshipError(
      'E_USAGE',
      `--dir ${JSON.stringify(o.dir)}: no such folder — build the release first, or fix the path`,
    );
  const repo = (await isRepository(o.repo)) ? o.repo : await privateStore(o.cacheDir);
  // Its index is as big as the release: one a killed run left is removed by the next (scratch-dir.ts).
  const tmp = makeScratchDir('diffship-build-');
  try {
    const items: Item[] = [];
    walk(root, '', items, tmp);
    const blobs = await git(
      repo,
      ['hash-object', '-w', '--no-filters', '--stdin-paths'],
      items.map((i) => `${i.source}\n`).join(''),
    );
    const ids = blobs.toString('utf8').trim().split('\n').filter(Boolean);
    if (ids.length !== items.length)
      throw new GitError('E_GIT', `git hash-object gave ${ids.length} ids for ${items.length} files`);
    const env = { GIT_INDEX_FILE: join(tmp, 'index') };
    const info = items.map((item, i) => `${item.mode} ${ids[i]!}\t${item.path}\0`).join('');
    await git(repo, ['update-index', '--add', '-z', '--index-info'], info, env);
    const tree = (await git(repo, ['write-tree'], '', env)).toString('utf8').trim();
    return { tree, repo, files: items.length };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** Every file and link below `dir`, never following a link. Names git can't hold are refused. */
function walk(abs: string, rel: string, into: Item[], tmp: string): void {
  for (const d of fs.readdirSync(abs, { withFileTypes: true })) {
    const path = rel === '' ? d.name : `${rel}/${d.name}`;
    const full = join(abs, d.name);
    if (d.name === '.git')
      throw new DiffshipError(
        'E_USAGE',
        `--dir: ${JSON.stringify(path)} can't be part of a release (git refuses that name) — remove it from the build`,
      );
    if (d.isDirectory()) walk(full, path, into, tmp);
    else if (d.isSymbolicLink()) {
      // hash-object follows links: hash a temporary file holding the link's text instead.
      const text = join(tmp, `link-${into.length}`);
      fs.writeFileSync(text, fs.readlinkSync(full, { encoding: 'buffer' }));
      into.push({ path, mode: '120000', source: text });
    } else if (d.isFile()) {
      const mode = (fs.lstatSync(full).mode & 0o111) !== 0 ? '100755' : '100644';
      // --stdin-paths reads one path a line: a name with a line break goes through a link without one.
      let source = full;
      if (full.includes('\n')) fs.symlinkSync(full, (source = join(tmp, `name-${into.length}`)));
      into.push({ path, mode, source });
    } else {
      throw new DiffshipError(
        'E_USAGE',
        `--dir: ${JSON.stringify(path)} is not a file, folder or symlink — remove it from the build`,
      );
    }
  }
}

async function isRepository(repo: string): Promise<boolean> {
  try {
    await git(repo, ['rev-parse', '--git-dir'], '');
    return true;
  } catch {
    return false;
  }
}

/** The private object store, created on first use. */
async function privateStore(cacheDir: string): Promise<string> {
  const store = resolve(cacheDir, 'objects.git');
  if (!fs.existsSync(join(store, 'HEAD'))) {
    fs.mkdirSync(store, { recursive: true });
    await git(store, ['init', '--quiet', '--bare'], '');
  }
  return store;
}

/** Run git with `input` on stdin; stdout as bytes. */
function git(
  repo: string,
  args: readonly string[],
  input: string,
  env: Record<string, string> = {},
): Promise<Buffer> {
  return new Promise((done, fail) => {
    const child = spawn('git', ['-C', repo, ...args], { env: { ...gitEnv(), ...env }, stdio: 'pipe' });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', (e) => fail(new GitError('E_GIT', `cannot run git: ${e.message}`, { cause: e })));
    child.on('close', (code) => {
      if (code === 0) return done(Buffer.concat(out));
      const why = firstMessage(Buffer.concat(err).toString('utf8')) ?? `exit code ${code}`;
      fail(new GitError('E_GIT', `git ${args[0]} failed while building the release from --dir: ${why}`));
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(input);
  });
}
