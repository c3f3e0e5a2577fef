/**
 * Text from a release or a target in markdown that GitHub renders (the job
 * summary, the PR comment): errors, hook output, lock owners, file names. None
 * of it may become a link, an image, HTML or an @-mention on the page. Code
 * spans render nothing of that, so untrusted text goes into one, with a
 * backtick fence longer than any backtick run inside it.
 */

function longestRun(text: string, char: string): number {
  let best = 0;
  let run = 0;
  for (const c of text) {
    run = c === char ? run + 1 : 0;
    best = Math.max(best, run);
  }
  return best;
}

/**
 * `text` as one inline code span: line breaks shown as spaces, fenced by more
 * backticks than it holds, padded when it starts or ends with one. '' for ''.
 *
 * @example codeSpan('a `b` [x](http://e)') // "`` a `b` [x](http://e) ``"
 */
export function codeSpan(text: string): string {
  const flat = text.replace(/\r\n|\r|\n/g, ' ');
  if (flat === '') return '';
  const ticks = '`'.repeat(longestRun(flat, '`') + 1);
  const pad = flat.startsWith('`') || flat.endsWith('`') || /^ .* $/.test(flat) ? ' ' : '';
  return `${ticks}${pad}${flat}${pad}${ticks}`;
}

/**
 * Text that renders as itself outside code: letters, digits and a few marks,
 * with no `www.` (GitHub autolinks it) and nothing that starts a link, an
 * image, HTML, emphasis or a mention.
 */
const PLAIN = /^[A-Za-z0-9 ._:()+,-]*$/;

/** `text` shown as written: as is when plain, else in a code span. */
function inlineText(text: string): string {
  return PLAIN.test(text) && !/www\./i.test(text) ? text : codeSpan(text);
}

/** A table cell: `inlineText`, with `|` escaped (GFM splits cells on a pipe even inside code). */
export function tableText(text: string): string {
  return inlineText(text).replace(/\|/g, '\\|');
}

/** A table cell that is always code (errors, hook output), `|` escaped. */
export function tableCode(text: string): string {
  return codeSpan(text).replace(/\|/g, '\\|');
}

/** `&`, `<`, `>` as entities: for text inside HTML (`<summary>`). */
export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Control characters (a newline in a file name): such paths are shown JSON-escaped. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f]/;

/** A path in inline code that survives backticks and line breaks in the name. */
export function inlinePath(path: string): string {
  const shown = CONTROL.test(path) ? JSON.stringify(path) : path;
  const ticks = '`'.repeat(longestRun(shown, '`') + 1);
  const pad = shown.startsWith('`') || shown.endsWith('`') ? ' ' : '';
  return `${ticks}${pad}${shown}${pad}${ticks}`;
}

/** A fenced block whose fence is longer than any backtick run inside it. */
export function fenced(lang: string, body: string): string {
  const fence = '`'.repeat(Math.max(3, longestRun(body, '`') + 1));
  return `${fence}${lang}\n${body}\n${fence}`;
}

/** A path on one line of a code block: control characters shown JSON-escaped. */
export function linePath(path: string): string {
  return CONTROL.test(path) ? JSON.stringify(path) : path;
}
