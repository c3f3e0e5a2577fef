/**
 * The plan comment on a pull request. One comment per PR (and config): the
 * first run creates it, later runs find it by its hidden marker and edit it,
 * so a PR with twenty pushes still has one plan, the current one.
 */
import * as core from '@actions/core';
import * as github from '@actions/github';
import { PLAN_COMMENT_MARKER, planCommentKeyLine, planCommentMarkdown } from '../report/plan-comment.js';
import type { Report } from '../report/types.js';

export interface CommentLike {
  id: number;
  body?: string | null;
}

/**
 * The id of this config's earlier plan comment: the first one that starts with
 * the marker (a human quoting it starts with `>`) and carries the config's key.
 */
export function findPlanComment(comments: readonly CommentLike[], key?: string): number | undefined {
  const keyLine = key ? planCommentKeyLine(key) : undefined;
  return comments.find((c) => {
    const body = c.body ?? '';
    return body.startsWith(PLAN_COMMENT_MARKER) && (!keyLine || body.includes(keyLine));
  })?.id;
}

/** The PR number when the workflow runs for a pull request, else undefined. */
export function pullRequestNumber(
  context: Pick<typeof github.context, 'eventName' | 'payload'>,
): number | undefined {
  // eventName is typed string but undefined outside a runner.
  if (!(context.eventName ?? '').startsWith('pull_request')) return undefined;
  const number = context.payload.pull_request?.number;
  return typeof number === 'number' ? number : undefined;
}

/**
 * Create or update the plan comment. Never fails the step: a fork's read-only
 * token or a network error becomes a warning, since the rollout itself is
 * what the step reports on.
 */
export async function postPlanComment(report: Report, token: string | undefined, key: string): Promise<void> {
  const context = github.context;
  const number = pullRequestNumber(context);
  if (number === undefined) {
    core.notice(
      `comment: true has no effect on a ${context.eventName || 'local'} run: the plan is posted on pull_request events only.`,
    );
    return;
  }
  if (!token) {
    core.warning(
      'comment: true needs github-token (the default is the workflow token); no comment was posted.',
    );
    return;
  }
  const { owner, repo } = context.repo;
  const runUrl = `${context.serverUrl}/${owner}/${repo}/actions/runs/${context.runId}`;
  const body = planCommentMarkdown(report, { key, runUrl });
  try {
    const octokit = github.getOctokit(token);
    const comments = await octokit.paginate(octokit.rest.issues.listComments, {
      owner,
      repo,
      issue_number: number,
      per_page: 100,
    });
    const existing = findPlanComment(comments, key);
    if (existing === undefined) {
      const created = await octokit.rest.issues.createComment({ owner, repo, issue_number: number, body });
      core.info(`Plan posted on #${number}: ${created.data.html_url}`);
    } else {
      const updated = await octokit.rest.issues.updateComment({ owner, repo, comment_id: existing, body });
      core.info(`Plan updated on #${number}: ${updated.data.html_url}`);
    }
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    core.warning(
      `Could not post the plan on #${number}: ${reason.split('\n')[0]}. ` +
        'The job needs `permissions: pull-requests: write` (fork PRs get a read-only token).',
    );
  }
}
