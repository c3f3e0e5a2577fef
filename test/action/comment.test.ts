import { describe, expect, it } from 'vitest';
import { findPlanComment, pullRequestNumber } from '../../src/action/comment.js';
import { planCommentMarkdown } from '../../src/report/plan-comment.js';
import { planReport } from './fixtures.js';

describe('findPlanComment', () => {
  const ours = planCommentMarkdown(planReport(), { key: 'diffship.yml' });
  const otherConfig = planCommentMarkdown(planReport(), { key: 'deploy/other.yml' });

  it('finds its own earlier comment by the marker and the config key', () => {
    const comments = [
      { id: 1, body: 'LGTM' },
      { id: 2, body: otherConfig },
      { id: 3, body: ours },
      { id: 4, body: ours },
    ];
    expect(findPlanComment(comments, 'diffship.yml')).toBe(3);
    expect(findPlanComment(comments, 'deploy/other.yml')).toBe(2);
    expect(findPlanComment(comments, 'third.yml')).toBeUndefined();
  });

  it('ignores a human quoting the comment and comments without a body', () => {
    const quoted = ours
      .split('\n')
      .map((l) => `> ${l}`)
      .join('\n');
    expect(
      findPlanComment([{ id: 1, body: quoted }, { id: 2, body: null }, { id: 3 }], 'diffship.yml'),
    ).toBeUndefined();
  });
});

describe('pullRequestNumber', () => {
  it('is the PR number on pull_request and pull_request_target events only', () => {
    const payload = { pull_request: { number: 42 } };
    expect(pullRequestNumber({ eventName: 'pull_request', payload })).toBe(42);
    expect(pullRequestNumber({ eventName: 'pull_request_target', payload })).toBe(42);
    expect(pullRequestNumber({ eventName: 'push', payload })).toBeUndefined();
    expect(pullRequestNumber({ eventName: 'pull_request', payload: {} })).toBeUndefined();
  });
});
