/**
 * Turn zod issues into config problems that say what was expected in the
 * user's words: `targets[2].path: required`, `mode: expected one of additive,
 * authoritative (got "overwrite")`, `targets[0].hsot: unknown key — did you mean "host"?`.
 */
import type * as z from 'zod/mini';
import { formatKeyPath, type ConfigProblem, type KeyPath } from './problems.js';
import { suggest } from './suggest.js';

type RawIssue = z.core.$ZodRawIssue;
type Issue = z.core.$ZodIssue;

/** "a string", "a list", … for a JavaScript value, as YAML users know them. */
function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  switch (typeof value) {
    case 'string':
      return 'a string';
    case 'number':
      return Number.isInteger(value) ? 'a whole number' : 'a number';
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object':
      return 'a mapping';
    default:
      return typeof value;
  }
}

/** The kind of a wrongly typed value; YAML's null gets a hint, it is usually a slip. */
function gotType(value: unknown): string {
  return value === null ? 'null — in YAML an empty value or ~ is null; quote it' : kindOf(value);
}

/** A short, quoted rendering of a bad value for `(got …)`. */
export function shown(value: unknown): string {
  if (typeof value === 'string')
    return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  return kindOf(value);
}

const EXPECTED: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  array: 'a list',
  object: 'a mapping',
  record: 'a mapping',
};

/** Marks the message of an unrecognized-keys issue so the known keys survive to `toProblems`. */
const KNOWN_KEYS = '\u0000known-keys:';

/**
 * The parse-level error map: messages for every issue a schema did not word
 * itself. Pass as `schema.safeParse(data, { error: configErrorMap })`.
 */
export function configErrorMap(issue: RawIssue): string {
  const input = issue.input;
  switch (issue.code) {
    case 'invalid_type':
      if (input === undefined) return 'required';
      return `expected ${EXPECTED[issue.expected] ?? issue.expected} (got ${gotType(input)})`;
    case 'invalid_value': {
      const values = issue.values.map((v) => (typeof v === 'string' ? v : JSON.stringify(v)));
      const expected = values.length === 1 ? values[0] : `one of ${values.join(', ')}`;
      return `expected ${expected} (got ${shown(input)})`;
    }
    case 'unrecognized_keys': {
      // The object schema that raised this knows its keys; carry them in the message.
      const shape = (issue.inst as { shape?: Record<string, unknown> } | undefined)?.shape;
      return `${KNOWN_KEYS}${JSON.stringify(Object.keys(shape ?? {}))}`;
    }
    case 'too_small':
      if (issue.origin === 'array')
        return `expected at least ${issue.minimum} item${issue.minimum === 1 ? '' : 's'}`;
      if (issue.origin === 'string') return 'must not be empty';
      return `expected at least ${issue.minimum} (got ${shown(input)})`;
    case 'too_big':
      return `expected at most ${issue.maximum} (got ${shown(input)})`;
    case 'invalid_format':
      return `expected text matching ${issue.pattern ?? issue.format} (got ${shown(input)})`;
    case 'invalid_union':
      return `expected one of several forms (got ${shown(input)})`;
    default:
      return `invalid value (got ${shown(input)})`;
  }
}

/** Zod issues (from a parse with `configErrorMap` and `reportInput`) as problems. */
export function toProblems(issues: readonly Issue[], base: KeyPath = []): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  for (const issue of issues) {
    const at = [...base, ...(issue.path as (string | number)[])];
    if (issue.code === 'unrecognized_keys') {
      const known = issue.message.startsWith(KNOWN_KEYS)
        ? (JSON.parse(issue.message.slice(KNOWN_KEYS.length)) as string[])
        : [];
      for (const key of issue.keys) {
        const hint = suggest(key, known);
        const keys = [...at, key];
        out.push({
          path: formatKeyPath(keys),
          keys,
          message: `unknown key${hint ? ` — did you mean "${hint}"?` : ''}`,
        });
      }
      continue;
    }
    if (issue.code === 'invalid_union' && issue.errors.length > 0) {
      // The value had the right shape for exactly one option (a list, say) and
      // failed deeper inside it: report those deeper problems, not "no option fits".
      const deeper = issue.errors.filter(
        (branch) => branch.length > 0 && branch.every((i) => i.path.length > 0),
      );
      if (deeper.length === 1) {
        out.push(...toProblems(deeper[0]!, at));
        continue;
      }
    }
    out.push({ path: formatKeyPath(at), keys: at, message: withGot(issue) });
  }
  return out;
}

/** Schema-level messages say what was expected; add what was found, unless already there. */
function withGot(issue: Issue): string {
  if (issue.message.includes('(got ') || issue.message === 'required') return issue.message;
  if (issue.code === 'custom' || !('input' in issue) || issue.input === undefined) return issue.message;
  if (issue.code === 'invalid_type') return `${issue.message} (got ${gotType(issue.input)})`;
  // A list or mapping cannot be shown in a line; the message says what is wrong with it.
  if (issue.input !== null && typeof issue.input === 'object') return issue.message;
  return `${issue.message} (got ${shown(issue.input)})`;
}
