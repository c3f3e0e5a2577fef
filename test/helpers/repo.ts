/** Real git repositories and folder snapshots for engine tests. */
import {
  rmSync,
  mkdirSync,
  writeFileSync,
  symlinkSync,
  chmodSync,
  readdirSync,
  lstatSync,
  readFileSync,
  readlinkSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { git, tempDir } from './git.js';

export type Tree = Record<string, string | { content: string; mode?: number } | { link: string }>;

/**
 * A repository whose `commit(tree)` makes the worktree exactly `tree` and returns the new SHA.
 * `objectFormat: 'sha256'` makes a SHA-256 repository (64-hex ids).
 */
export function makeRepo(options: { objectFormat?: 'sha1' | 'sha256' } = {}): {
  dir: string;
  commit(tree: Tree, message?: string): string;
  cleanup(): void;
} {
  const dir = tempDir('diffship-repo-');
  git(dir, 'init', '-q', '-b', 'main', `--object-format=${options.objectFormat ?? 'sha1'}`);
  git(dir, 'config', 'core.autocrlf', 'false');
  return {
    dir,
    commit(tree, message = 'release') {
      for (const name of readdirSync(dir))
        if (name !== '.git') rmSync(join(dir, name), { recursive: true, force: true });
      for (const [path, spec] of Object.entries(tree)) {
        const full = join(dir, path);
        mkdirSync(dirname(full), { recursive: true });
        if (typeof spec === 'string') writeFileSync(full, spec);
        else if ('link' in spec) symlinkSync(spec.link, full);
        else {
          writeFileSync(full, spec.content);
          if (spec.mode !== undefined) chmodSync(full, spec.mode);
        }
      }
      git(dir, 'add', '-A');
      git(dir, 'commit', '-q', '--allow-empty', '-m', message);
      return git(dir, 'rev-parse', 'HEAD');
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export interface SnapEntry {
  type: 'file' | 'symlink' | 'dir';
  content?: string;
  exec?: boolean;
}

/** Every entry below `root` except `skip` folders: files with content and exec bit, links with target. */
export function snapshot(root: string, skip: string[] = ['.diffship']): Record<string, SnapEntry> {
  const out: Record<string, SnapEntry> = {};
  const walk = (rel: string) => {
    for (const name of readdirSync(join(root, rel)).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      if (skip.includes(r)) continue;
      const full = join(root, r);
      const st = lstatSync(full);
      if (st.isSymbolicLink()) out[r] = { type: 'symlink', content: readlinkSync(full) };
      else if (st.isDirectory()) {
        out[r] = { type: 'dir' };
        walk(r);
      } else out[r] = { type: 'file', content: readFileSync(full, 'latin1'), exec: (st.mode & 0o111) !== 0 };
    }
  };
  walk('');
  return out;
}
