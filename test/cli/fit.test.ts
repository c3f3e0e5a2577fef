/** fitLine: live lines cut to what the terminal shows, colours applied after the cut. Pure. */
import { describe, expect, it } from 'vitest';
import { fitLine } from '../../src/cli/fit.js';
import { renderSummary } from '../../src/report/terminal.js';
import type { Report } from '../../src/report/types.js';

describe('fitLine', () => {
  it('leaves a line that fits alone, and cuts a longer one with … at exactly the width', () => {
    expect(fitLine([['abc'], ['def']], 6)).toBe('abcdef');
    expect(fitLine([['abc'], ['def']], 5)).toBe('abcd…');
  });
  it('counts wide characters as two columns and never splits one', () => {
    expect(fitLine([['漢字abc']], 4)).toBe('漢…');
    expect(fitLine([['漢字']], 4)).toBe('漢字');
  });
  it('colours the kept text only, so no escape code is cut in half', () => {
    const red = (s: string) => `\u001b[31m${s}\u001b[39m`;
    expect(fitLine([['ab'], ['cdef', red]], 4)).toBe(`ab${red('c')}…`);
    expect(fitLine([['abcd'], ['ef', red]], 4)).toBe('abc…');
  });
});

describe('renderSummary', () => {
  const target = (name: string, status: 'deployed' | 'rolled-back', error: string | null) => ({
    name,
    wave: 0,
    status,
    from: null,
    to: 'f'.repeat(40),
    changes: { added: ['a'], updated: [], deleted: [], renamed: [], kept: [], drift: [] },
    bytes: 123456,
    steps: [
      {
        name: 'verify' as const,
        status: error ? ('failed' as const) : ('ok' as const),
        durationMs: 61_000,
        detail: error ? `${error}\nline 1\nline 2` : 'ok',
      },
    ],
    error: error ? `verify: ${error}` : null,
  });
  const report: Report = {
    version: 1,
    deployId: 'x',
    command: 'deploy',
    status: 'failed',
    to: 'f'.repeat(40),
    ref: 'v1',
    mode: 'additive',
    startedAt: '',
    finishedAt: '',
    waves: [['a-rather-long-target-name-01', 'b']],
    targets: [
      target('a-rather-long-target-name-01', 'rolled-back', `GET ${'x'.repeat(150)} → 503`),
      target('b', 'deployed', null),
    ],
  };
  it.each([80, 60])('the table fits %i columns; the error under it is whole, wrapped', (width) => {
    const text = renderSummary(report, undefined, { width });
    const lines = text.split('\n');
    for (const l of lines) expect(l.length, l).toBeLessThanOrEqual(width);
    expect(lines[0]).toMatch(/^TARGET/);
    const error = text.slice(text.indexOf('\na-rather-long-target-name-01 rolled-back: '));
    expect(error.replace(/\s+/g, '')).toContain(`GET${'x'.repeat(150)}→503`);
    expect(text).toContain('  │ line 1\n  │ line 2');
  });
});
