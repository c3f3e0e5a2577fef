/**
 * The change set as JSON text, written in chunks (SPEC §1, `diffship diff --json`).
 *
 * The same bytes as `JSON.stringify(await diffReleases(o), null, indent)`, but
 * never the whole change set at once: changes are stringified in small
 * batches as git's records are classified (the objects die young; V8's own
 * JSON.stringify beat formatting each field by hand), kept as bytes, and
 * written in chunks that respect the stream's backpressure. At 500,000 files
 * that took the CLI's heap from ~600 MiB to ~100 MiB.
 */
import { byteOrder, sortByPath } from '../byte-order.js';
import { changeObjects, classifier, type ChangeSink } from './classify.js';
import { rawDiff, type RawDiff } from './diff-releases.js';
import type { GitObjects } from './git-objects.js';
import { CompactJson } from './json-records.js';
import { RawStream, scanRawDiff } from './raw.js';
import {
  SUBMODULE_MODE,
  type Change,
  type ChangeCounts,
  type DiffOptions,
  type DiffResult,
} from './types.js';

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
  const indent = clampIndent(options.indent);
  if (indent === 0) {
    // Compact: bytes straight from git's records (json-records.ts), git's own bytes not kept
    // besides. Should a record need more than that (a name that is not UTF-8, output git
    // never writes), the general path below asks git again, for the very same commits.
    let compact: CompactJson | undefined;
    const raw = await rawDiff(objects, options, (c) => (compact = new CompactJson(c)), false);
    if (compact?.ok) return framed(raw, 0, compact);
    // Its warnings (the rename limit) were told already.
    return general(objects, { ...options, from: raw.from, to: raw.to, logger: undefined }, 0);
  }
  return general(objects, options, indent);
}

/** The change set as JSON.stringify would write it, through Change objects in batches. */
async function general(objects: GitObjects | null, options: DiffOptions, indent: number): Promise<DiffText> {
  const sink = batches(indent, false);
  const raw = await rawDiff(objects, options, (c) => new RawStream(classifier(c, sink)));
  return finish(raw, indent, sink);
}

/** As JSON.stringify takes its `space`: 0 to 10. */
const clampIndent = (indent = 0) => Math.min(10, Math.max(0, Math.floor(indent)));

/**
 * Classify and format git's raw answer. Pure (bytes in, text out).
 * @throws DiffshipError E_CONFIG for a kept name that is not UTF-8; GitError E_GIT for malformed output.
 */
export function formatDiffJson(raw: RawDiff, indentOption = 0): DiffText {
  const indent = clampIndent(indentOption);
  const sink = batches(indent, false);
  scanRawDiff(raw.stdout, classifier(raw, sink));
  return finish(raw, indent, sink);
}

/**
 * The text around the batches of `first`, the pass over git's records in the
 * order git gave them (null: a pass that gave up).
 */
function finish(raw: RawDiff, indent: number, first: JsonSink | null): DiffText {
  // git lists paths in byte order: the first pass formatted them as they came. Should one
  // ever come out of order, classify again, keeping every change for the sort.
  let sink = first;
  if (sink === null || !sink.ordered) {
    sink = batches(indent, true);
    scanRawDiff(raw.stdout, classifier(raw, sink));
  }
  const body = sink.finish();
  return framed(raw, indent, { ...sink, body });
}

/** The formatted changes: the array's inside as bytes, and what the summary and warnings need. */
interface Formatted {
  counts: ChangeCounts;
  submodules: string[];
  shipsAFile: boolean;
  body: readonly Buffer[];
}

/** The whole text: the changes go where JSON.stringify's frame has its empty array. */
function framed(raw: RawDiff, indent: number, { counts, submodules, shipsAFile, body }: Formatted): DiffText {
  const { from, to, source } = raw;
  const frame = JSON.stringify({ from, to, source, changes: [], counts }, null, indent);
  const at = frame.lastIndexOf('[]');
  const close = indent === 0 ? ']' : `\n${' '.repeat(indent)}]`;
  return {
    summary: { from, to, source, counts },
    submodules,
    shipsAFile,
    chunks: () =>
      body.length === 0
        ? [`${frame}\n`]
        : [`${frame.slice(0, at)}[`, ...body, `${close}${frame.slice(at + 2)}\n`],
  };
}

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

/** Changes per JSON.stringify call, at most: about 150 bytes each, so about 75 KiB of text. */
const BATCH = 512;
/** ...and fewer when the names are long: a batch's text stays near 64 KiB. */
const BATCH_CHARS = 1 << 16;

/** A sink that turns changes into JSON text, counts them and notes what the CLI warns about. */
interface JsonSink extends ChangeSink {
  /** False once a path came out of byte order (then the caller starts over with `sorted`). */
  ordered: boolean;
  counts: ChangeCounts;
  submodules: string[];
  shipsAFile: boolean;
  /** The array's inside: elements joined by commas, as bytes. */
  finish(): Buffer[];
}

/**
 * Changes as `Change` objects in batches of BATCH, each batch stringified by
 * JSON.stringify itself (so the text is exactly its own) and kept as bytes:
 * the objects die young and what is kept is outside V8's heap. `sorted`: keep
 * every change and sort by path bytes at the end instead (out-of-order input).
 */
function batches(indent: number, sorted: boolean): JsonSink {
  const objects = changeObjects();
  const body: Buffer[] = [];
  let prev: string | null = null;
  let pending = 0;
  // Elements of a nested array sit one level deeper than JSON.stringify(batch) puts them.
  const nested = `\n${' '.repeat(indent)}`;
  const trim = indent === 0 ? 1 : 2 + indent; // "]" or "\n<pad>]"
  const flush = (changes: Change[]) => {
    if (changes.length === 0) return;
    let text = JSON.stringify(changes, null, indent);
    if (indent > 0) text = text.replaceAll('\n', nested);
    body.push(Buffer.from(`${body.length === 0 ? '' : ','}${text.slice(1, text.length - trim)}`, 'utf8'));
  };
  const sink: JsonSink = {
    ordered: true,
    counts: { added: 0, updated: 0, deleted: 0, renamed: 0 },
    submodules: [],
    shipsAFile: false,
    added(path, e) {
      if (take(path, 'added', e.newMode, e.newMode)) objects.added(path, e);
    },
    deleted(path, e) {
      if (take(path, 'deleted', e.oldMode, null)) objects.deleted(path, e);
    },
    updated(path, e) {
      if (take(path, 'updated', e.oldMode, e.newMode)) objects.updated(path, e);
    },
    renamed(path, oldPath, e) {
      if (take(path, 'renamed', e.oldMode, e.newMode)) objects.renamed(path, oldPath, e);
    },
    finish() {
      if (sorted) sortByPath(objects.changes);
      for (let i = 0; i < objects.changes.length; i += BATCH) flush(objects.changes.slice(i, i + BATCH));
      objects.changes.length = 0;
      return body;
    },
  };
  /** Count and note the change; whether to keep it (it is in order, or all are kept). */
  function take(path: string, status: keyof ChangeCounts, mode1: string, mode2: string | null): boolean {
    sink.counts[status] += 1;
    if (mode1 === SUBMODULE_MODE || mode2 === SUBMODULE_MODE) sink.submodules.push(path);
    else if (mode2 !== null) sink.shipsAFile = true;
    if (sorted) return true;
    if (prev !== null && sink.ordered && byteOrder(prev, path) >= 0) sink.ordered = false;
    prev = path;
    if (!sink.ordered) return false;
    if (objects.changes.length === BATCH || pending >= BATCH_CHARS) {
      flush(objects.changes);
      objects.changes.length = 0;
      pending = 0;
    }
    pending += path.length + 130; // the path, and about what the other fields take
    return true;
  }
  return sink;
}
