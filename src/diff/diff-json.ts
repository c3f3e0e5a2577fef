/**
 * The change set as JSON text, written in chunks (SPEC §1, `diffship diff --json`).
 *
 * The same bytes as `JSON.stringify(await diffReleases(o), null, indent)`, but
 * the compact form is formatted straight from git's records: no `Change`
 * object per record, no one big string, and the stream's backpressure is
 * respected. At 500,000 files that is what keeps the CLI near git's own time.
 */
import { sortedOrder } from '../byte-order.js';
import { changeObjects, classifier, type ChangeSink } from './classify.js';
import { rawDiff } from './diff-releases.js';
import type { GitObjects } from './git-objects.js';
import type { RawEntry } from './raw.js';
import { scanRawDiff } from './raw.js';
import { SUBMODULE_MODE, type ChangeCounts, type DiffOptions, type DiffResult } from './types.js';

/** Everything of a `DiffResult` but the changes, which went to the stream. */
export type DiffSummary = Omit<DiffResult, 'changes'>;

export interface DiffJsonOptions extends DiffOptions {
  /** Spaces per level, as `JSON.stringify`'s `space` (default 0: compact, one line). */
  indent?: number;
}

/**
 * Write the change set between two releases to `out` as JSON and a newline.
 * Resolves once the last chunk is handed to `out`; does not end it.
 *
 * @example
 * const summary = await writeDiffJson(process.stdout, { repo: '.', from: 'v1.3.0', to: 'v1.4.0' });
 * console.error(`${summary.counts.added} added`);
 *
 * @throws the errors `diffReleases` throws, before anything is written.
 */
export async function writeDiffJson(
  out: NodeJS.WritableStream,
  options: DiffJsonOptions = {},
): Promise<DiffSummary> {
  const text = await diffJson(null, options);
  await writeChunks(out, text.chunks());
  return text.summary;
}

/** The formatted change set, ready to write, and what the CLI warns about. */
export interface DiffText {
  summary: DiffSummary;
  /** Paths of submodule entries (reported, never shipped). */
  submodules: string[];
  /** Whether any change is a file of the new release (not a deletion, not a submodule). */
  shipsAFile: boolean;
  /** The JSON text and a newline, in pieces of about 64 KiB. */
  chunks(): Iterable<string>;
}

/** Diff and format: everything that can fail happens here, before a byte is written. */
export async function diffJson(objects: GitObjects | null, options: DiffJsonOptions): Promise<DiffText> {
  const raw = await rawDiff(objects, options);
  const indent = Math.min(10, Math.max(0, Math.floor(options.indent ?? 0)));
  const sink = indent === 0 ? compactSink() : prettySink(indent);
  scanRawDiff(raw.stdout, classifier(raw, sink));
  const order = sortedOrder(sink.paths);
  const items = order === null ? sink.items : order.map((i) => sink.items[i]!);
  const summary: DiffSummary = { from: raw.from, to: raw.to, source: raw.source, counts: sink.counts };
  // The frame is JSON.stringify's own: the changes go where its empty array is.
  const { from, to, source, counts } = summary;
  const frame = JSON.stringify({ from, to, source, changes: [], counts }, null, indent);
  const at = frame.lastIndexOf('[]');
  const pad = ' '.repeat(indent);
  const [open, sep, close] =
    indent === 0 ? ['[', ',', ']'] : [`[\n${pad}${pad}`, `,\n${pad}${pad}`, `\n${pad}]`];
  return {
    summary,
    submodules: sink.submodules,
    shipsAFile: sink.shipsAFile,
    chunks: () =>
      items.length === 0
        ? [`${frame}\n`]
        : pieces(`${frame.slice(0, at)}${open}`, items, sep, `${close}${frame.slice(at + 2)}\n`),
  };
}

const CHUNK = 1 << 16;

/** head, items joined by sep, tail: as strings of about CHUNK characters. */
function* pieces(head: string, items: readonly string[], sep: string, tail: string): Iterable<string> {
  let chunk = head;
  const last = items.length - 1;
  for (let i = 0; i <= last; i++) {
    chunk += items[i]! + (i < last ? sep : tail);
    if (chunk.length >= CHUNK || i === last) {
      yield chunk;
      chunk = '';
    }
  }
}

/** Write each chunk, waiting for 'drain' whenever `out` asks to. */
export async function writeChunks(out: NodeJS.WritableStream, chunks: Iterable<string>): Promise<void> {
  for (const chunk of chunks) if (!out.write(chunk)) await drained(out);
}

function drained(out: NodeJS.WritableStream): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (error?: unknown) => {
      out.off('drain', done);
      out.off('error', done);
      out.off('close', closed);
      if (error) reject(error instanceof Error ? error : new Error(String(error)));
      else resolve();
    };
    const closed = () => done(new Error('the output closed before the diff was written'));
    out.on('drain', done);
    out.on('error', done);
    out.on('close', closed);
  });
}

/** A sink that keeps each change's JSON text, its path, the counts and the CLI's warnings. */
interface TextSink extends ChangeSink {
  items: string[];
  paths: string[];
  counts: ChangeCounts;
  submodules: string[];
  shipsAFile: boolean;
}

function textSink(format: {
  added(path: string, e: RawEntry): string;
  deleted(path: string, e: RawEntry): string;
  updated(path: string, e: RawEntry): string;
  renamed(path: string, oldPath: string, e: RawEntry): string;
}): TextSink {
  const sink: TextSink = {
    items: [],
    paths: [],
    counts: { added: 0, updated: 0, deleted: 0, renamed: 0 },
    submodules: [],
    shipsAFile: false,
    added(path, e) {
      keep(path, format.added(path, e), 'added', e.newMode, e.newMode);
    },
    deleted(path, e) {
      keep(path, format.deleted(path, e), 'deleted', e.oldMode, null);
    },
    updated(path, e) {
      keep(path, format.updated(path, e), 'updated', e.oldMode, e.newMode);
    },
    renamed(path, oldPath, e) {
      keep(path, format.renamed(path, oldPath, e), 'renamed', e.oldMode, e.newMode);
    },
  };
  function keep(path: string, text: string, status: keyof ChangeCounts, mode1: string, mode2: string | null) {
    sink.items.push(text);
    sink.paths.push(path);
    sink.counts[status] += 1;
    if (mode1 === SUBMODULE_MODE || mode2 === SUBMODULE_MODE) sink.submodules.push(path);
    else if (mode2 !== null) sink.shipsAFile = true;
  }
  return sink;
}

// Every value goes through JSON.stringify, so escaping is exactly its own.
const q = JSON.stringify;

/** Compact: the text of `JSON.stringify(change)`, keys in the order classify.ts builds them. */
function compactSink(): TextSink {
  return textSink({
    added: (path, e) => `{"status":"added","path":${q(path)},"mode":${q(e.newMode)},"blob":${q(e.newOid)}}`,
    deleted: (path, e) =>
      `{"status":"deleted","path":${q(path)},"oldMode":${q(e.oldMode)},"oldBlob":${q(e.oldOid)}}`,
    updated: (path, e) =>
      `{"status":"updated","path":${q(path)},"mode":${q(e.newMode)},"blob":${q(e.newOid)},` +
      `"oldMode":${q(e.oldMode)},"oldBlob":${q(e.oldOid)}}`,
    renamed: (path, oldPath, e) =>
      `{"status":"renamed","path":${q(path)},"oldPath":${q(oldPath)},"similarity":${e.score},` +
      `"mode":${q(e.newMode)},"blob":${q(e.newOid)},"oldMode":${q(e.oldMode)},"oldBlob":${q(e.oldOid)}}`,
  });
}

/** Indented (a person at a terminal): each change as an object, stringified and indented. */
function prettySink(indent: number): TextSink {
  const objects = changeObjects();
  const nested = `\n${' '.repeat(indent * 2)}`;
  const text = () => q(objects.changes.pop(), null, indent).replaceAll('\n', nested);
  return textSink({
    added: (path, e) => (objects.added(path, e), text()),
    deleted: (path, e) => (objects.deleted(path, e), text()),
    updated: (path, e) => (objects.updated(path, e), text()),
    renamed: (path, oldPath, e) => (objects.renamed(path, oldPath, e), text()),
  });
}
