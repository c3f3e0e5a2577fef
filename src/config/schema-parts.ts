/**
 * The building blocks of the diffship.yml schema (schema.ts): zod/mini pieces
 * for messages, optional keys, durations, counts and percentages, ports, globs
 * and commands, kept apart so the schema file stays one screenful per section.
 */
import * as z from 'zod/mini';
import { DURATION_EXPECTED, DURATION_PATTERN } from './duration.js';

/**
 * A schema-level message. A missing key falls through (undefined) to the
 * parse-level map in zod-issues.ts, which says `required`.
 */
export const expect = (message: string) => ({
  error: (issue: { input?: unknown }) => (issue.input === undefined ? undefined : message),
});

/**
 * An optional key; `description` is what editors show for it (the JSON Schema
 * carries it). zod/mini spells classic's `s.optional().describe(d)` this way.
 */
export const optional = <T extends z.core.SomeType>(schema: T, description: string) =>
  z.optional(schema).check(z.describe(description));

/** `500ms`, `2s`, `1m`, `1h`, `1m30s`, or a number of seconds. */
export const Duration = z
  .union(
    [
      z.number(expect(DURATION_EXPECTED)).check(z.nonnegative(expect(DURATION_EXPECTED))),
      z.string(expect(DURATION_EXPECTED)).check(z.regex(DURATION_PATTERN, expect(DURATION_EXPECTED))),
    ],
    expect(DURATION_EXPECTED),
  )
  .check(z.describe('A duration: 500ms, 2s, 1m, 1h, 1m30s, or a number of seconds'));

/** `"N%"`: the share of targets, checked to be in range by resolve.ts. */
export const PERCENT_PATTERN = /^\s*\d+(?:\.\d+)?\s*%\s*$/;

/*
 * `z.int(p)` is classic's `z.number(p).int(p)`: a non-number and a fraction get
 * the same issues, both worded by `p`.
 */
const COUNT_OR_PERCENT = 'expected a count or "N%"';
/** A count (`3`) or a share of the selected targets (`"10%"`). */
export const CountOrPercent = z.union(
  [
    z.int(expect(COUNT_OR_PERCENT)).check(z.nonnegative(expect(COUNT_OR_PERCENT))),
    z.string(expect(COUNT_OR_PERCENT)).check(z.regex(PERCENT_PATTERN, expect(COUNT_OR_PERCENT))),
  ],
  expect(COUNT_OR_PERCENT),
);

const WAVE = 'expected a count or "N%"';
/** One wave size: a positive count or `"N%"` (0 < N ≤ 100). */
export const Wave = z.union(
  [
    z.int(expect(WAVE)).check(z.positive(expect('expected a count above 0 or "N%"'))),
    z.string(expect(WAVE)).check(z.regex(PERCENT_PATTERN, expect(WAVE))),
  ],
  expect(WAVE),
);

const PORT = 'expected a port number (1-65535)';
export const Port = z.union(
  [z.int(expect(PORT)).check(z.gte(1, expect(PORT)), z.lte(65535, expect(PORT))), z.string(expect(PORT))],
  expect(PORT),
);

export const GLOBS = 'expected a glob or a list of globs';
/** One glob or a list of them (minimatch, dot files matched). */
export const Globs = z.union(
  [z.string(expect(GLOBS)), z.array(z.string(expect('expected a glob (a string)')))],
  expect(GLOBS),
);

/** A non-empty string; `what` is how the message names it. */
export const text = (what: string) =>
  z.string(expect(`expected ${what}`)).check(z.minLength(1, expect(`expected ${what}, not ""`)));

export const Command = z
  .strictObject({
    run: optional(text('a shell command'), 'Shell command run on the machine running diffship'),
    remote: optional(
      text('a shell command'),
      'Shell command run on the target, with the target folder as working directory',
    ),
    timeout: optional(Duration, 'Default 5m'),
    settle: optional(Duration, 'Wait this long after the command (or alone: hosts that import on arrival)'),
  })
  .check(z.describe('A hook: `run` (here), `remote` (on the target), and/or `settle` (wait)'));
