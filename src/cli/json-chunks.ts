/**
 * A report as JSON text in chunks: the same bytes as `JSON.stringify(value, null, space)`, its
 * arrays and objects written part by part, each scalar by JSON.stringify.
 *
 * Why: a report's long lists (`changes.added` of a 500,000-file first deploy, `changes.deleted`
 * of 900,000 strays) are views made when read (array-view.ts). Stringified whole, each item was
 * read through a Proxy trap by a key string, the text of them all was one string, and the
 * garbage of both came at once: `plan --json` of 300,000 strays peaked 11 MiB above the plan
 * itself. Here a long array is read by its iterator and written in ~64 KB pieces.
 */

/** Items of an array between two looks at whether a piece is ready. */
const LONG = 1024;
/** Characters gathered before a piece is handed on. */
const PIECE = 64 * 1024;

/** The JSON text of `value` (as JSON.stringify with `space` spaces), piece by piece. */
export function* jsonChunks(value: unknown, space = 0): Generator<string> {
  const pieces = new Pieces();
  yield* pieces.flushing(emit(value, space, '', pieces));
  const rest = pieces.take();
  if (rest !== '') yield rest;
}

/** Text gathered into pieces of about PIECE characters. */
class Pieces {
  private parts: string[] = [];
  private size = 0;

  add(text: string): void {
    this.parts.push(text);
    this.size += text.length;
  }

  take(): string {
    const text = this.parts.join('');
    this.parts = [];
    this.size = 0;
    return text;
  }

  /** Runs `work`, yielding a piece whenever enough text is gathered. */
  *flushing(work: Generator<void>): Generator<string> {
    for (const _ of work) if (this.size >= PIECE) yield this.take();
  }
}

/** Whether JSON.stringify writes `value` as an array or an object of its own keys (no toJSON). */
function isStructure(value: unknown): value is object {
  if (value === null || typeof value !== 'object') return false;
  if (Array.isArray(value)) return true;
  const proto = Object.getPrototypeOf(value) as unknown;
  return (
    (proto === Object.prototype || proto === null) &&
    typeof (value as { toJSON?: unknown }).toJSON !== 'function'
  );
}

/** Whether JSON.stringify writes an object's property holding `v` at all. */
const stringifies = (v: unknown): boolean =>
  v !== undefined && typeof v !== 'function' && typeof v !== 'symbol';

/**
 * `value` at a depth whose lines start with `pad`: arrays and plain objects part by part
 * (yielding between parts), anything else by JSON.stringify, its lines indented to the depth
 * (a newline in its text is always formatting: strings escape theirs).
 */
function* emit(value: unknown, space: number, pad: string, out: Pieces): Generator<void> {
  if (!isStructure(value)) {
    // A value JSON leaves out (undefined, a function) is null where this is called: in an array.
    out.add(reindent(JSON.stringify(value, null, space) ?? 'null', pad));
    return;
  }
  const inner = pad + ' '.repeat(space);
  const sep = space > 0 ? `\n${inner}` : '';
  const close = space > 0 ? `\n${pad}` : '';
  if (Array.isArray(value)) {
    // Read by its iterator: a view's items are made as they come, without a key string each.
    let n = 0;
    for (const item of value as unknown[]) {
      out.add(n++ === 0 ? `[${sep}` : `,${sep}`);
      if (isStructure(item)) yield* emit(item, space, inner, out);
      else out.add(reindent(JSON.stringify(item, null, space) ?? 'null', inner));
      if (n % LONG === 0) yield;
    }
    out.add(n === 0 ? '[]' : `${close}]`);
    return;
  }
  const record = value as Record<string, unknown>;
  let n = 0;
  for (const key of Object.keys(record)) {
    const item = record[key];
    if (!stringifies(item)) continue;
    out.add(`${n++ === 0 ? `{${sep}` : `,${sep}`}${JSON.stringify(key)}:${space > 0 ? ' ' : ''}`);
    yield* emit(item, space, inner, out);
  }
  out.add(n === 0 ? '{}' : `${close}}`);
  yield;
}

function reindent(text: string, pad: string): string {
  return pad === '' || !text.includes('\n') ? text : text.replaceAll('\n', `\n${pad}`);
}
