/**
 * The bytes a plan would write: the sizes of its blobs, from one
 * `git cat-file --batch-check` (sizes only, no contents read), so `plan`
 * shows what a deploy will send instead of `0 B`.
 */
import { spawn } from 'node:child_process';
import { GitError } from '../errors.js';
import { firstMessage, gitEnv } from './git.js';
import { CAT_FILE_CONFIG } from './requests.js';

/** Sum of the sizes of `blobs` (ids; repeats count each time) in `repo`. */
export function blobBytes(repo: string, blobs: readonly string[]): Promise<number> {
  if (blobs.length === 0) return Promise.resolve(0);
  return new Promise((resolve, reject) => {
    const proc = spawn('git', ['-C', repo, ...CAT_FILE_CONFIG, 'cat-file', '--batch-check=%(objectsize)'], {
      env: gitEnv(),
      stdio: 'pipe',
    });
    let out = '';
    let err = '';
    proc.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    proc.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    proc.on('error', (error) => reject(new GitError('E_GIT', `cannot run git: ${error.message}`)));
    proc.on('close', (code) => {
      if (code !== 0)
        return reject(new GitError('E_GIT', `git cat-file failed: ${firstMessage(err) ?? `exit ${code}`}`));
      // A missing object answers "<id> missing": it counts 0 here; apply reports it.
      const sizes = out.split('\n').map((l) => (/^\d+$/.test(l) ? Number(l) : 0));
      resolve(sizes.reduce((a, b) => a + b, 0));
    });
    proc.stdin.on('error', () => undefined);
    proc.stdin.end(`${blobs.filter((b) => /^[0-9a-f]{40,64}$/.test(b)).join('\n')}\n`);
  });
}
