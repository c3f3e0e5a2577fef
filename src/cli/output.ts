/**
 * Terminal output shared by every command: colour decisions, safe display of
 * names, JSON, and the one-line `diffship: …` messages on stderr.
 */
import { createColors } from 'picocolors';
import { jsonChunks } from './json-chunks.js';

export type Colors = ReturnType<typeof createColors>;

/** Streams a command writes to; tests pass their own. */
export interface Output {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
}

export const processOutput = (): Output => ({
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
});

/**
 * Colour only on a TTY, unless NO_COLOR (any non-empty value) turns it off or
 * FORCE_COLOR turns it on ("0" or "false": off). NO_COLOR wins.
 */
export function colorEnabled(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv): boolean {
  if (env.NO_COLOR) return false;
  if (env.FORCE_COLOR !== undefined) return env.FORCE_COLOR !== '0' && env.FORCE_COLOR !== 'false';
  return stream.isTTY === true && env.TERM !== 'dumb';
}

/** picocolors for a stream, enabled per `colorEnabled`. */
export function colorsFor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv): Colors {
  return createColors(colorEnabled(stream, env));
}

// C0/C1 controls, DEL, and the Unicode line/paragraph separators and bidi controls
// that can make a name print as something else.
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;
// eslint-disable-next-line no-control-regex
const UNSAFE_ALL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069"\\]/g;
const NAMED: Record<string, string> = { '\n': '\\n', '\t': '\\t', '\r': '\\r', '"': '\\"', '\\': '\\\\' };

/**
 * A name as a person should see it in a listing: as is when harmless, else in
 * double quotes with C-style escapes (like git's quoted names), so a newline
 * or an escape sequence in a file name can't forge lines or colours.
 * JSON output never goes through this: it is exact.
 */
export function displayName(name: string): string {
  if (!UNSAFE.test(name)) return name;
  const escaped = name.replace(UNSAFE_ALL, (ch) => {
    const named = NAMED[ch];
    if (named) return named;
    const code = ch.charCodeAt(0);
    return code <= 0xff
      ? `\\x${code.toString(16).padStart(2, '0')}`
      : `\\u${code.toString(16).padStart(4, '0')}`;
  });
  return `"${escaped}"`;
}

/**
 * Print a value as JSON and a newline: indented for a person on a TTY, compact for programs.
 * Written in pieces (json-chunks.ts): a report may list 900,000 paths.
 */
export function writeJson(out: Output, value: unknown): void {
  for (const piece of jsonChunks(value, out.stdout.isTTY ? 2 : 0)) out.stdout.write(piece);
  out.stdout.write('\n');
}

/** One plain `diffship: warning: …` line on stderr. */
export function warn(out: Output, message: string): void {
  out.stderr.write(`diffship: warning: ${message}\n`);
}
