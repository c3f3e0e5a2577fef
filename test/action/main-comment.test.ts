/**
 * The PR comment against a GitHub API on 127.0.0.1. @actions/github reads the
 * event when it is first imported, so this file sets a pull_request event up
 * before importing the action.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { CommandRunner } from '../../src/action/main.js';
import { PLAN_COMMENT_MARKER } from '../../src/report/plan-comment.js';
import { planReport } from './fixtures.js';
import { fakeGitHub, inputEnv, runnerFiles } from './runner.js';

const files = runnerFiles();
const github = await fakeGitHub('octo', 'fleet', 7);
const event = path.join(files.dir, 'event.json');
fs.writeFileSync(event, JSON.stringify({ pull_request: { number: 7 } }));
for (const name of Object.keys(process.env)) if (name.startsWith('INPUT_')) delete process.env[name];
Object.assign(process.env, {
  GITHUB_EVENT_NAME: 'pull_request',
  GITHUB_EVENT_PATH: event,
  GITHUB_REPOSITORY: 'octo/fleet',
  GITHUB_API_URL: github.url,
  GITHUB_SERVER_URL: 'https://github.com',
  GITHUB_RUN_ID: '99',
  GITHUB_OUTPUT: files.output,
  GITHUB_STEP_SUMMARY: files.summary,
  RUNNER_TEMP: files.temp,
  GITHUB_WORKSPACE: files.dir,
  ...inputEnv({ command: 'plan', comment: 'true', 'github-token': 'test-token', 'report-artifact': '' }),
});
const { run } = await import('../../src/action/main.js');

const runner = (async () => ({ kind: 'report', report: planReport() })) as CommandRunner;

beforeAll(() => {
  vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
});

afterAll(async () => {
  vi.restoreAllMocks();
  process.exitCode = undefined;
  await github.close();
  files.cleanup();
});

describe('plan comment on a pull request', () => {
  it('creates one comment, then updates it on the next run', async () => {
    await run(runner);
    expect(process.exitCode).toBeUndefined();
    expect(github.comments).toHaveLength(2);
    const ours = github.comments[1]!;
    expect(ours.body.startsWith(PLAN_COMMENT_MARKER)).toBe(true);
    expect(ours.body).toContain('<!-- diffship-plan-key: diffship.yml -->');
    expect(ours.body).toContain('[workflow run](https://github.com/octo/fleet/actions/runs/99)');
    expect(github.requests).toContain('POST /repos/octo/fleet/issues/7/comments token test-token');

    ours.body = ours.body.replace('diffship plan for', 'OLD plan for');
    await run(runner);
    expect(github.comments).toHaveLength(2);
    expect(github.comments[1]?.body).toContain('diffship plan for');
    expect(github.requests.filter((r) => r.startsWith('PATCH'))).toEqual([
      `PATCH /repos/octo/fleet/issues/comments/${ours.id} token test-token`,
    ]);
  });

  it('warns instead of failing when the API refuses', async () => {
    process.env['INPUT_GITHUB-TOKEN'] = 'read-only';
    const lines: string[] = [];
    vi.mocked(process.stdout.write).mockImplementation((chunk) => {
      lines.push(String(chunk));
      return true;
    });
    await run(runner);
    expect(process.exitCode).toBeUndefined();
    expect(lines.join('')).toMatch(
      /::warning::Could not post the plan on #7: Resource not accessible by integration.*pull-requests: write/,
    );
    expect(lines).toContain('::add-mask::read-only\n');
  });
});
