/**
 * The change set as JSON text, written in chunks (SPEC §1, `diffship diff --json`).
 *
 * The same bytes as `JSON.stringify(await diffReleases(o), null, indent)`, but
 * the compact form is formatted straight from git's records: no `Change`
 * object per record, no one big string, and the stream's backpressure is
 * respected. At 500,000 files that is what keeps the CLI near git's own time.
 */
import { byteOrder, sortedOrder } from '../byte-order.js';
import { changeObjects, classifier, type ChangeSink } from './classify.js';
import { rawDiff, type RawDiff } from './diff-releases.js';
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
  chunks(): Iterable<string | Buffer>;
}

/** Diff and format: everything that can fail happens here, before a byte is written. */
export async function diffJson(objects: GitObjects | null, options: DiffJsonOptions): Promise<DiffText> {
  return formatDiffJson(await rawDiff(objects, options), options.indent);
}

/**
 * Classify and format git's raw answer. Pure (bytes in, text out).
 * @throws DiffshipError E_CONFIG for a kept name that is not UTF-8; GitError E_GIT for malformed output.
 */
export function formatDiffJson(raw: RawDiff, indentOption = 0): DiffText {
  const indent = Math.min(10, Math.max(0, Math.floor(indentOption)));
  const pad = ' '.repeat(indent);
  const [open, sep, close] =
    indent === 0 ? ['[', ',', ']'] : [`[\n${pad}${pad}`, `,\n${pad}${pad}`, `\n${pad}]`];
  const format = indent === 0 ? compact : pretty(indent);
  // git lists paths in byte order: format as they come. Should one ever come out of
  // order, format again, keeping each change apart for the sort.
  let sink = textSink(format, inOrder(sep));
  scanRawDiff(raw.stdout, classifier(raw, sink));
  if (!sink.emit.ordered) {
    sink = textSink(format, collected(sep));
    scanRawDiff(raw.stdout, classifier(raw, sink));
  }
  const { from, to, source } = raw;
  const counts = sink.counts;
  // The frame is JSON.stringify's own: the changes go where its empty array is.
  const frame = JSON.stringify({ from, to, source, changes: [], counts }, null, indent);
  const at = frame.lastIndexOf('[]');
  const total = counts.added + counts.updated + counts.deleted + counts.renamed;
  return {
    summary: { from, to, source, counts },
    submodules: sink.submodules,
    shipsAFile: sink.shipsAFile,
    chunks: () =>
      total === 0
        ? [`${frame}\n`]
        : [`${frame.slice(0, at)}${open}`, ...sink.emit.body(), `${close}${frame.slice(at + 2)}\n`],
  };
}

const CHUNK = 1 << 16;

/**
 * Write each chunk, waiting for 'drain' whenever `out` asks to. Rejects when
 * `out` fails or closes part-way (never waits for a 'drain' that can't come).
 */
export async function writeChunks(
  out: NodeJS.WritableStream,
  chunks: Iterable<string | Buffer>,
): Promise<void> {
  let failure: Error | null = null;
  const onError = (error: unknown) => {
    failure ??= error instanceof Error ? error : new Error(String(error));
  };
  out.on('error', onError);
  try {
    for (const chunk of chunks) {
      failure ??= gone(out);
      if (failure !== null) throw failure;
      if (!out.write(chunk)) await drained(out);
    }
    failure ??= gone(out);
    if (failure !== null) throw failure;
  } finally {
    out.off('error', onError);
  }
}

/** Why `out` takes no more writes (its error, or that it was closed), else null. */
function gone(out: NodeJS.WritableStream): Error | null {
  const state = out as { errored?: unknown; destroyed?: boolean };
  if (state.errored instanceof Error) return state.errored;
  return state.destroyed === true ? new Error('the output closed before the diff was written') : null;
}

/** Settles on 'drain', 'error' or 'close' (the caller then asks `gone`). */
function drained(out: NodeJS.WritableStream): Promise<void> {
  if (gone(out) !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      out.off('drain', done);
      out.off('error', done);
      out.off('close', done);
      resolve();
    };
    out.on('drain', done);
    out.on('error', done);
    out.on('close', done);
  });
}

/** Takes the changes' JSON texts in order and hands back the array's inside, joined by `sep`. */
interface Emitter {
  /** False once a path came out of byte order (inOrder only); then it takes no more. */
  ordered: boolean;
  /** Whether to format the change at `path` (then `add` its text next). */
  take(path: string): boolean;
  add(text: string): void;
  body(): Iterable<string | Buffer>;
}

/**
 * Appends each text as it comes, as bytes every CHUNK characters: the strings
 * die young, and what is kept is outside V8's heap.
 */
function inOrder(sep: string): Emitter {
  const body: Buffer[] = [];
  let chunk = '';
  let prev: string | null = null;
  const emit: Emitter = {
    ordered: true,
    take(path) {
      if (prev !== null && emit.ordered && byteOrder(prev, path) >= 0) emit.ordered = false;
      prev = path;
      return emit.ordered;
    },
    add(text) {
      chunk = chunk === '' && body.length === 0 ? text : `${chunk}${sep}${text}`;
      if (chunk.length >= CHUNK) {
        body.push(Buffer.from(chunk, 'utf8'));
        chunk = '';
      }
    },
    body() {
      if (chunk !== '') body.push(Buffer.from(chunk, 'utf8'));
      chunk = '';
      return body;
    },
  };
  return emit;
}

/** Keeps every text with its path and sorts them by path bytes at the end. */
function collected(sep: string): Emitter {
  const paths: string[] = [];
  const items: string[] = [];
  return {
    ordered: true,
    take: (path) => (paths.push(path), true),
    add: (text) => void items.push(text),
    *body() {
      const order = sortedOrder(paths) ?? items.map((_, i) => i);
      let chunk = '';
      for (let k = 0; k < order.length; k++) {
        chunk += (k === 0 ? '' : sep) + items[order[k]!]!;
        if (chunk.length >= CHUNK || k === order.length - 1) {
          yield chunk;
          chunk = '';
        }
      }
    },
  };
}

/** The text of one change, per status. */
interface Format {
  added(path: string, e: RawEntry): string;
  deleted(path: string, e: RawEntry): string;
  updated(path: string, e: RawEntry): string;
  renamed(path: string, oldPath: string, e: RawEntry): string;
}

/** A sink that formats each change, counts them and notes what the CLI warns about. */
interface TextSink extends ChangeSink {
  emit: Emitter;
  counts: ChangeCounts;
  submodules: string[];
  shipsAFile: boolean;
}

function textSink(format: Format, emit: Emitter): TextSink {
  const sink: TextSink = {
    emit,
    counts: { added: 0, updated: 0, deleted: 0, renamed: 0 },
    submodules: [],
    shipsAFile: false,
    added(path, e) {
      note(path, 'added', e.newMode, e.newMode);
      if (emit.take(path)) emit.add(format.added(path, e));
    },
    deleted(path, e) {
      note(path, 'deleted', e.oldMode, null);
      if (emit.take(path)) emit.add(format.deleted(path, e));
    },
    updated(path, e) {
      note(path, 'updated', e.oldMode, e.newMode);
      if (emit.take(path)) emit.add(format.updated(path, e));
    },
    renamed(path, oldPath, e) {
      note(path, 'renamed', e.oldMode, e.newMode);
      if (emit.take(path)) emit.add(format.renamed(path, oldPath, e));
    },
  };
  function note(path: string, status: keyof ChangeCounts, mode1: string, mode2: string | null) {
    sink.counts[status] += 1;
    if (mode1 === SUBMODULE_MODE || mode2 === SUBMODULE_MODE) sink.submodules.push(path);
    else if (mode2 !== null) sink.shipsAFile = true;
  }
  return sink;
}

// Every value goes through JSON.stringify, so escaping is exactly its own.
const q = JSON.stringify;

/** Compact: the text of `JSON.stringify(change)`, keys in the order classify.ts builds them. */
const compact: Format = {
  added: (path, e) => `{"status":"added","path":${q(path)},"mode":${q(e.newMode)},"blob":${q(e.newOid)}}`,
  deleted: (path, e) =>
    `{"status":"deleted","path":${q(path)},"oldMode":${q(e.oldMode)},"oldBlob":${q(e.oldOid)}}`,
  updated: (path, e) =>
    `{"status":"updated","path":${q(path)},"mode":${q(e.newMode)},"blob":${q(e.newOid)},` +
    `"oldMode":${q(e.oldMode)},"oldBlob":${q(e.oldOid)}}`,
  renamed: (path, oldPath, e) =>
    `{"status":"renamed","path":${q(path)},"oldPath":${q(oldPath)},"similarity":${e.score},` +
    `"mode":${q(e.newMode)},"blob":${q(e.newOid)},"oldMode":${q(e.oldMode)},"oldBlob":${q(e.oldOid)}}`,
};

/** Indented (a person at a terminal): each change as an object, stringified and indented. */
function pretty(indent: number): Format {
  const objects = changeObjects();
  const nested = `\n${' '.repeat(indent * 2)}`;
  const text = () => q(objects.changes.pop(), null, indent).replaceAll('\n', nested);
  return {
    added: (path, e) => (objects.added(path, e), text()),
    deleted: (path, e) => (objects.deleted(path, e), text()),
    updated: (path, e) => (objects.updated(path, e), text()),
    renamed: (path, oldPath, e) => (objects.renamed(path, oldPath, e), text()),
  };
}
