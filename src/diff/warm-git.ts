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
 * files stages them one by one) is ended when the rollout ends. Given the
 * release's commit and the run's `GitObjects`, the `cat-file` is not started
 * when `repo` is a checkout at that commit: the staging reads the checkout
 * first (checkout-files.ts), and that process went unused while its start
 * held the main thread ~10–20 ms (a miss starts its own, as without warming).
 */
import { dropOwn, startEarly, type EarlyGit } from './early-git.js';
import { gitEnv } from './git.js';
import { normalizeSource } from './ref.js';
import { CAT_FILE_BATCH, diffTreeArgs } from './requests.js';
import { worktreeTopSeen } from './checkout-files.js';
import type { GitObjects } from './git-objects.js';

/** Start them for `repo`, as the plan's diff will ask (renames, source); returns their drop. */
export function warmDeployGit(
  repo: string,
  o: { renames: boolean; source?: string; release?: { to: string; objects: GitObjects } },
): () => void {
  const started: EarlyGit[] = [];
  let dropped = false;
  const start = (args: readonly string[], env: NodeJS.ProcessEnv) => {
    try {
      if (!dropped) started.push(startEarly(repo, args, undefined, env));
    } catch {
      // No process: the usual path starts its own.
    }
  };
  try {
    const env = gitEnv();
    // As rawDiff asks for a diff from a recorded release (diff-releases.ts).
    start(diffTreeArgs({ renames: o.renames, prefix: normalizeSource(o.source).prefix }), env);
    const release = o.release;
    if (release === undefined || worktreeTopSeen(repo) === null) start(CAT_FILE_BATCH, env);
    else void headIs(release).then((holds) => holds || start(CAT_FILE_BATCH, env));
  } catch {
    // A source the plan refuses (it says why): the usual path starts its own.
  }
  return () => {
    dropped = true;
    dropOwn(started);
  };
}

/** Whether the checkout's HEAD is the release's commit (never rejects). */
async function headIs(release: { to: string; objects: GitObjects }): Promise<boolean> {
  const head = await release.objects.lookup('HEAD^{commit}').catch(() => null);
  return head?.found === true && head.oid === release.to;
}
