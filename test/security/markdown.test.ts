/**
 * Attack: file names, errors, hook output and lock owners from a release or a
 * target put a link, an image, HTML or an @-mention on the job summary or the
 * PR comment. The markdown is rendered (markdown-it with HTML and linkify on,
 * the most permissive GitHub-like rendering) and every hostile text must end
 * up inside <code>/<pre>, nowhere else. Every hostile string holds "evil".
 */
import MarkdownIt from 'markdown-it';
import { afterEach, describe, expect, it } from 'vitest';
import { statusRow } from '../../src/action/status.js';
import { statusMarkdown, summaryMarkdown } from '../../src/report/markdown.js';
import { planCommentMarkdown } from '../../src/report/plan-comment.js';
import { emptyChanges, type Report } from '../../src/report/types.js';
import { deployReport, failedCanaryReport, planReport, statusInfo, steps } from '../action/fixtures.js';
import { fixture, runAction, type Fixture } from './action-harness.js';

const HOSTILE = [
  '[click me](https://evil.example/phish)',
  '![pixel](https://evil.example/track.png)',
  '<img src=x onerror=alert("evil")>',
  '</details><script>evil()</script>',
  '@evil-org/admins please approve',
  'see https://evil.example/auto and www.evil.example',
  'tick`s ``evil`` ```fence',
  '`evil-leading-tick',
  '<https://evil.example/angle>',
  'x|evil|y',
  '*evil* _evil_ **evil**',
];

const md = new MarkdownIt({ html: true, linkify: true });

/** The rendered page with every code element removed: what is left must hold no hostile text. */
function outsideCode(markdown: string): string {
  const html = md.render(markdown);
  return html.replace(/<pre[\s\S]*?<\/pre>/g, '').replace(/<code>[\s\S]*?<\/code>/g, '');
}

function expectInert(markdown: string): void {
  const rest = outsideCode(markdown);
  expect(rest).not.toMatch(/evil/i);
  expect(rest).not.toMatch(/<img|<script|<a href="https:\/\/evil/);
}

function hostileReport(base: Report): Report {
  const names = HOSTILE.map((h, i) => `${i}-${h}.xml`);
  return {
    ...base,
    targets: base.targets.map((t, i) => ({
      ...t,
      changes: {
        ...emptyChanges(),
        added: names,
        updated: names,
        deleted: names,
        renamed: names.map((n) => ({ from: n, to: `${n}.new` })),
        kept: names,
        drift: names,
      },
      steps:
        t.steps.length > 0
          ? steps(Date.parse(base.startedAt), [
              ['lock', 'ok', 5],
              ['before', 'failed', 10, `run exited 1\n${HOSTILE.join('\n')}`],
              ['rollback', 'ok', 5],
            ])
          : [],
      error: `${i}: before failed: ${HOSTILE.join(' ')}`,
    })),
  };
}

let fx: Fixture | undefined;
afterEach(() => fx?.cleanup());

describe('no link, image, HTML or mention from a release or a target on a rendered page', () => {
  it('job summary of a failed deploy: failures, failed step, drift and kept lists', () => {
    const text = summaryMarkdown(hostileReport(failedCanaryReport()));
    expect(text).toContain('evil'); // the hostile text is shown…
    expectInert(text); // …only as code
  });

  it('PR comment of a plan: change lines and errors', () => {
    const text = planCommentMarkdown(hostileReport(planReport()), { key: 'diffship.yml' });
    expect(text).toContain('evil');
    expectInert(text);
  });

  it('PR comment of a deploy with a hostile previous release from the target state', () => {
    const report = hostileReport(deployReport());
    report.targets[0]!.from = '<img src=x onerror=evil()>';
    expectInert(planCommentMarkdown(report));
  });

  it('status summary: lock owner, errors, release and mode read from a target', () => {
    const rows = [
      statusInfo('web-1', {
        release: '[evil](http://evil.example)',
        mode: '<b>evil</b>',
        deployedAt: '@evil-team',
        lock: { user: '@evil-org/admins', host: '<img src=evil>', since: 'www.evil.example', stale: null },
      } as never),
      statusInfo('web-2', { error: `ssh: ${HOSTILE.join(' ')}` }),
    ].map(statusRow);
    const text = statusMarkdown(rows);
    expect(text).toContain('evil');
    expectInert(text);
  });

  it('the job summary the built action writes for a release and hooks full of markdown', async () => {
    const hook = HOSTILE.map((h) => `printf '%s\\n' ${JSON.stringify(h).replace(/\$/g, '$$$$')}`).join(
      '\n        ',
    );
    fx = fixture(
      `source: app\ntargets:\n  - name: web-1\n    path: ../hosts/web-1\n    before:\n      run: |\n        ${hook}\n        exit 1\n`,
    );
    fx.commit(Object.fromEntries(HOSTILE.map((h, i) => [`app/${i}-${h.replace(/\//g, '_')}.txt`, `${i}\n`])));
    const run = await runAction(fx, {});
    expect(run.code).toBe(1);
    expect(run.summary).toContain('evil');
    expectInert(run.summary);
  });
});
