/** Real temp git repositories for the diff tests, and git's own view of a diff to compare with. */
import { chmodSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Change } from '../../src/diff/types.js';
import { git, gitBytes, tempDir } from '../helpers/git.js';

type FileSpec = string | Buffer | { content: string | Buffer; mode: number } | { link: string };

export interface TestRepo {
  dir: string;
  /** Write files (names relative to the repo, exact). Parent folders are created. */
  write(files: Record<string, FileSpec>): void;
  /** Write a file whose name is raw bytes (e.g. not valid UTF-8). */
  writeRaw(name: Buffer, content: string): void;
  remove(...names: string[]): void;
  /** Stage everything and commit; returns the SHA. */
  commit(message?: string): string;
  cleanup(): void;
}

export function createRepo(options: { objectFormat?: 'sha1' | 'sha256'; dir?: string } = {}): TestRepo {
  const dir = options.dir ?? tempDir('diffship-diff-');
  const init = ['init', '-q', '-b', 'main'];
  if (options.objectFormat) init.push(`--object-format=${options.objectFormat}`);
  git(dir, ...init);
  git(dir, 'config', 'core.autocrlf', 'false');
  git(dir, 'config', 'commit.gpgsign', 'false');
  let n = 0;
  return {
    dir,
    write(files) {
      for (const [name, spec] of Object.entries(files)) {
        const full = join(dir, name);
        mkdirSync(dirname(full), { recursive: true });
        rmSync(full, { force: true });
        if (typeof spec === 'string' || Buffer.isBuffer(spec)) writeFileSync(full, spec);
        else if ('link' in spec) symlinkSync(spec.link, full);
        else {
          writeFileSync(full, spec.content);
          chmodSync(full, spec.mode);
        }
      }
    },
    writeRaw(name, content) {
      writeFileSync(Buffer.concat([Buffer.from(`${dir}/`), name]), content);
    },
    remove(...names) {
      for (const name of names) rmSync(join(dir, name), { recursive: true, force: true });
    },
    commit(message = `release ${++n}`) {
      git(dir, 'add', '-A');
      git(dir, 'commit', '-q', '--allow-empty', '-m', message);
      return git(dir, 'rev-parse', 'HEAD');
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export interface GitChange {
  status: Change['status'];
  path: string;
  oldPath?: string;
}

/**
 * git's own view, read independently: `--name-status -z`, a different output
 * format from the `--raw` the engine parses. Sorted like the engine's result.
 */
export function gitView(
  repo: string,
  from: string,
  to: string,
  options: { renames?: boolean; pathspec?: string } = {},
) {
  const args = [
    'diff-tree',
    '-r',
    '-z',
    '--name-status',
    options.renames === false ? '--no-renames' : '-M',
    from,
    to,
  ];
  if (options.pathspec) args.push('--', options.pathspec);
  const fields = gitBytes(repo, args).toString('utf8').split('\0');
  fields.pop();
  const out: GitChange[] = [];
  for (let i = 0; i < fields.length;) {
    const code = fields[i]!;
    if (code.startsWith('R')) {
      out.push({ status: 'renamed', oldPath: fields[i + 1]!, path: fields[i + 2]! });
      i += 3;
    } else {
      const status = ({ A: 'added', D: 'deleted', M: 'updated', T: 'updated' } as const)[
        code as 'A' | 'D' | 'M' | 'T'
      ];
      if (!status) throw new Error(`unexpected status ${code}`);
      out.push({ status, path: fields[i + 1]! });
      i += 2;
    }
  }
  return out.sort((a, b) => Buffer.compare(Buffer.from(a.path), Buffer.from(b.path)));
}

/** The engine's changes in gitView's shape. */
export function asView(changes: readonly Change[]): GitChange[] {
  return changes.map((c) =>
    c.status === 'renamed'
      ? { status: c.status, oldPath: c.oldPath, path: c.path }
      : { status: c.status, path: c.path },
  );
}

/** `git rev-parse <expr>:<path>` — the blob id git stores for a path at a commit. */
export function blobAt(repo: string, commit: string, path: string): string {
  return git(repo, 'rev-parse', `${commit}:${path}`);
}
