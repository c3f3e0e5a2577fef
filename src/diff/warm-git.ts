/**
 * The two git processes an update over SSH asks for only once its target has
 * answered: `git diff-tree --stdin` (the diff from the recorded release, known
 * from the target's state) and `git cat-file --batch` (the blobs to stage,
 * diff/blob-batches.ts). Started while the handshake and the host's shell start
 * keep the rollout waiting, each process start (a fork of the whole Node
 * process on the main thread, then git's own start) is off the deploy's
 * critical path: they wait on their stdin until the diff and the staging take
 * them over (early-git.ts: exactly the same repository, arguments and
 * environment, nothing written to stdin yet), so the answers are the same.
 *
 * What nobody takes (a first deploy lists instead of diffing; a deploy of a few
 * files stages them one by one) is ended when the rollout ends.
 */
import { dropOwn, startEarly, type EarlyGit } from './early-git.js';
import { gitEnv } from './git.js';
import { normalizeSource } from './ref.js';
import { CAT_FILE_BATCH, diffTreeArgs } from './requests.js';

/** Start them for `repo`, as the plan's diff will ask (renames, source); returns their drop. */
export function warmDeployGit(repo: string, o: { renames: boolean; source?: string }): () => void {
  let started: EarlyGit[] = [];
  try {
    const env = gitEnv();
    // As rawDiff asks for a diff from a recorded release (diff-releases.ts).
    const args = diffTreeArgs({ renames: o.renames, prefix: normalizeSource(o.source).prefix });
    started = [startEarly(repo, args, undefined, env), startEarly(repo, CAT_FILE_BATCH, undefined, env)];
  } catch {
    // A source the plan refuses (it says why), or no process: the usual path starts its own.
  }
  return () => dropOwn(started);
}
