/**
 * The pieces of log-safe.ts, against the runner's reading of a line
 * (action-harness.ts): lines the runner would act on, including the variants
 * a JavaScript-only check misses (U+0085 that .NET trims, a lone \r that .NET
 * reads as a line end, the old `##[cmd]` syntax anywhere in a line).
 */
import { describe, expect, it } from 'vitest';
import { inertText, safeLines } from '../../src/action/log-safe.js';
import { workflowCommands } from './action-harness.js';

const ATTACKS = [
  '::add-mask::PWNED',
  '   ::set-output name=x::PWNED',
  '\u0085::set-env name=X::PWNED',
  '\u00a0\u2028::add-path::PWNED',
  'deleted x ##[add-mask]PWNED',
  'a\r::error::PWNED',
  'a\n::stop-commands::PWNED',
  'a\r\n::set-output name=y::PWNED',
];

describe('log-safe', () => {
  it.each(ATTACKS)('safeLines(%j) gives the runner no command', (text) => {
    const { commands, stopped } = workflowCommands(safeLines(text).join('\n'));
    expect(commands.filter((c) => c.data.includes('PWNED') || c.name.includes('PWNED'))).toEqual([]);
    expect(stopped).toBe(false);
  });

  it('inertText keeps every attack inert and resumes afterwards', () => {
    const out = [...inertText(ATTACKS), '::error::diffship failed'].join('\n');
    const { commands, stopped } = workflowCommands(out);
    expect(commands.map((c) => c.name)).toEqual(['stop-commands', '(resume)', 'error']);
    expect(stopped).toBe(false);
  });

  it('keeps an ordinary line as it is', () => {
    expect(safeLines('Wave 1: web-1, web-2')).toEqual(['Wave 1: web-1, web-2']);
  });
});
