/**
 * Text from a release or a target (file names, errors, hook output, drift
 * lines) printed to the runner's log must never be taken for a workflow
 * command. The runner reads its log line by line (a lone `\r` ends a line too)
 * and acts on a line that starts with `::` after leading blanks, or that holds
 * `##[name]` anywhere (the old syntax). Annotations and group titles are safe
 * already (@actions/core escapes their text); plain lines are not.
 *
 * Two tools: a line is made one line by showing `\r`/`\n` as escapes, and
 * lines that are still command-like are printed between
 * `::stop-commands::<random token>` and `::<token>::`, within which the runner
 * acts on nothing. Hook output is always printed that way.
 */
import { randomBytes } from 'node:crypto';

/** `\r` and `\n` shown as the characters `\r` and `\n`, so one printed line stays one line. */
function escapeNewlines(text: string): string {
  return text.replace(/\r/g, '\\r').replace(/\n/g, '\\n');
}

/**
 * Would the runner take `line` for a workflow command? It trims what .NET calls
 * white space, which includes U+0085 (NEL) where JavaScript's `\s` does not.
 */
function looksLikeCommand(line: string): boolean {
  return /^[\s\u0085]*::/.test(line) || line.includes('##[');
}

/** A token no text printed before it can know: 128 random bits. */
function stopToken(): string {
  return randomBytes(16).toString('hex');
}

/**
 * `lines` between `::stop-commands::T` and `::T::` with a fresh token T; each
 * line's `\r` shown escaped (a lone `\r` would end a line for the runner but
 * not for a reader).
 *
 * @example inertBlock(['::add-mask::x']) // ['::stop-commands::9f…', '::add-mask::x', '::9f…::']
 */
function inertBlock(lines: readonly string[], token: string = stopToken()): string[] {
  return [`::stop-commands::${token}`, ...lines.map((l) => l.replace(/\r/g, '\\r')), `::${token}::`];
}

/**
 * The lines to print for `text`, one line of the action's own making that may
 * hold hostile parts: newlines escaped, and wrapped in an inert block when it
 * still looks like a command.
 *
 * @example safeLines('deleted ::set-output name=x::y') // printed as is: not at the line start
 */
export function safeLines(text: string): string[] {
  const line = escapeNewlines(text);
  return looksLikeCommand(line) ? inertBlock([line]) : [line];
}

/**
 * The lines to print for a block of untrusted multi-line text (a group's body
 * with hook output): split at line ends and always wrapped in an inert block.
 */
export function inertText(lines: readonly string[]): string[] {
  return inertBlock(lines.flatMap((l) => l.split(/\r\n|\n/)));
}
