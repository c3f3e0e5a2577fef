/**
 * The file helper's answers (perl-helper-protocol.ts) taken out of its output: lines, and a
 * read's raw frames. Pure.
 */
import { READY } from './perl-helper-protocol.js';

/** One answer: the record's id, then its payload (ok) or the host's errno name and text. */
export type Answer =
  | { id: number; ok: true; payload: string; part?: true; bytes?: Buffer }
  | { id: number; ok: false; errno: string; message: string };

/** The most raw bytes one `bytes` frame may announce (hostile input: a bigger one is refused). */
export const MAX_FRAME = 1 << 20;

/**
 * Takes a read's frames as each one completes, before the parser goes on (a file spooled to a
 * local file, helper-spool.ts): the bytes are the parser's scratch buffer, used again for the
 * next frame, so they must be used or copied before it returns. It must not throw.
 */
export type FrameSink = (bytes: Buffer) => void;

/**
 * Splits the helper's stdout into answers, however the bytes arrive. Lines
 * before READY are skipped; after it, a line that is not an answer is an
 * error (returned with the answers before it, which still count). A line
 * `<id> bytes <n>` is followed by n raw bytes (a file's, read-protocol.ts):
 * a part of that record's answer, never split into lines or decoded.
 */
export class AnswerParser {
  /** The start of a line not yet ended, in the chunks it came in (a long answer spans many). */
  private rest: Buffer[] = [];
  private ready = false;
  /** A `bytes` frame being filled: its record, its buffer, how much is in. */
  private frame: { id: number; data: Buffer; filled: number } | null = null;
  /** Where a read's frames go (its `size` line was given a buffer): its record, the buffer, how much is in. */
  private into: { id: number; buffer: Buffer; at: number } | null = null;
  /** A read whose frames go to a sink as they complete (its `size` line was given one). */
  private sink: { id: number; take: FrameSink } | null = null;
  /** The one buffer every sunk frame is read into (MAX_FRAME bytes, made when first needed). */
  private scratch: Buffer | null = null;

  constructor(
    /**
     * A read's `<id> size <n>` line (read-protocol.ts), before its frames: a buffer of exactly
     * n bytes to read them into (the frames handed on are views of it, in order), or undefined
     * for a buffer per frame. A file read whole then needs no buffer per frame and no join at
     * the end: a 13.6 MB manifest held ~27 MB of both at once. Or a FrameSink: each frame is
     * given to it as it completes, in one scratch buffer, and is no answer part (a file of any
     * size then costs one frame's memory).
     */
    private readonly sized?: (id: number, size: number) => Buffer | FrameSink | undefined,
  ) {}

  /** The READY line was seen: the helper runs. */
  get isReady(): boolean {
    return this.ready;
  }

  /** Feed a chunk: the complete answers in it, and an error if a line was not an answer. */
  push(chunk: Buffer): { answers: Answer[]; error: Error | null } {
    const answers: Answer[] = [];
    let error: Error | null = null;
    // Only the new chunk is searched, and an unended line joined once it ends: linear in the
    // answer's length however many chunks it spans. Split bytes, not text: a chunk may end
    // inside a multi-byte character of an error message.
    let data = chunk;
    while (data.length > 0 && error === null) {
      const frame = this.frame;
      if (frame) {
        const n = data.copy(frame.data, frame.filled);
        frame.filled += n;
        data = data.subarray(n);
        if (frame.filled === frame.data.length) {
          if (this.sink?.id === frame.id) this.sink.take(frame.data);
          else answers.push({ id: frame.id, ok: true, payload: '', part: true, bytes: frame.data });
          this.frame = null;
        }
        continue;
      }
      const nl = data.indexOf(10);
      if (nl === -1) {
        this.rest.push(Buffer.from(data));
        break;
      }
      const tail = data.subarray(0, nl);
      const line = (this.rest.length > 0 ? Buffer.concat([...this.rest, tail]) : tail).toString('utf8');
      this.rest = [];
      data = data.subarray(nl + 1);
      if (!this.ready) this.ready = line === READY;
      else if (!this.sizeLine(line) && !this.startFrame(line, answers)) {
        const answer = parseLine(line);
        if (answer && !(answer.ok && answer.part) && answer.id === this.into?.id) this.into = null;
        if (answer && !(answer.ok && answer.part) && answer.id === this.sink?.id) this.sink = null;
        if (answer) answers.push(answer);
        else error = new Error(`unexpected answer from the host: ${JSON.stringify(line.slice(0, 200))}`);
      }
    }
    return { answers, error };
  }

  /** A read's `size` line: where its frames go, if the owner gives a buffer. False: not one. */
  private sizeLine(line: string): boolean {
    const m = /^(\d{1,10}) size (\d{1,15})$/.exec(line);
    if (!m) return false;
    const id = Number(m[1]);
    const size = Number(m[2]);
    const given = this.sized?.(id, size);
    this.into = Buffer.isBuffer(given) && given.length === size ? { id, buffer: given, at: 0 } : null;
    this.sink = typeof given === 'function' ? { id, take: given } : null;
    return true;
  }

  /** A `bytes` line: its frame starts (an empty one is its answer part at once). False: not one. */
  private startFrame(line: string, answers: Answer[]): boolean {
    const m = /^(\d{1,10}) bytes (\d{1,8})$/.exec(line);
    if (!m || Number(m[2]) > MAX_FRAME) return false;
    const id = Number(m[1]);
    const size = Number(m[2]);
    if (size === 0) answers.push({ id, ok: true, payload: '', part: true, bytes: Buffer.alloc(0) });
    else this.frame = { id, data: this.frameBuffer(id, size), filled: 0 };
    return true;
  }

  /** A frame's buffer: the next bytes of its read's own buffer while they fit, else one of its own (a file grown since its size was sent). */
  private frameBuffer(id: number, size: number): Buffer {
    if (this.sink?.id === id) return (this.scratch ??= Buffer.allocUnsafe(MAX_FRAME)).subarray(0, size);
    const into = this.into;
    if (into?.id !== id || into.at + size > into.buffer.length) return Buffer.allocUnsafe(size);
    into.at += size;
    return into.buffer.subarray(into.at - size, into.at);
  }
}

function parseLine(line: string): Answer | null {
  const part = /^(\d+) part (.*)$/.exec(line);
  if (part) return { id: Number(part[1]), ok: true, payload: part[2]!, part: true };
  const ok = /^(\d+) ok(?: (.*))?$/.exec(line);
  if (ok) return { id: Number(ok[1]), ok: true, payload: ok[2] ?? '' };
  const err = /^(\d+) err (\S+) ?(.*)$/.exec(line);
  if (err) return { id: Number(err[1]), ok: false, errno: err[2]!, message: err[3]! };
  return null;
}
