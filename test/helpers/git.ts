/** git and temp folders for tests: one git runner, isolated from the machine's git config. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ENV = {
  ...process.env,
  GIT_AUTHOR_NAME: 'Test',
  GIT_AUTHOR_EMAIL: 'test@example.com',
  GIT_COMMITTER_NAME: 'Test',
  GIT_COMMITTER_EMAIL: 'test@example.com',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
};

/** A new empty folder under the system temp folder. */
export function tempDir(prefix = 'diffship-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Run git; stdout as bytes. */
export function gitBytes(cwd: string, args: readonly string[], input?: string | Buffer): Buffer {
  return execFileSync('git', args, {
    cwd,
    env: ENV,
    input,
    stdio: ['pipe', 'pipe', 'pipe'],
    maxBuffer: 1 << 28,
  });
}

/** Run git; stdout as trimmed text. */
export function git(cwd: string, ...args: string[]): string {
  return gitBytes(cwd, args).toString('utf8').trim();
}

/**
 * For a `git` wrapper script on PATH: sets `$cmd` to the git command it was called with (the
 * first argument after `-C <dir>` and any `-c <option>` pairs, which diffship puts first).
 */
export const SH_GIT_COMMAND =
  'cmd=; skip=; for a in "$@"; do case "$skip$a" in 1*) skip= ;; -C|-c) skip=1 ;; *) cmd=$a; break ;; esac; done';
