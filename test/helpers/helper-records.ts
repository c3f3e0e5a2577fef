/**
 * What an SshTransport sends to its file helper, record by record, with how many answers had
 * come back when each was queued: records queued with the same count went out in one turn, so
 * the number of distinct counts is the number of times the deploy waited for the host.
 */
import type { SshTransport } from '../../src/transport/ssh/ssh-transport.js';
import { SshOps } from '../../src/transport/ssh/perl-helper-client.js';
import { OP_RENAME, OP_SYNC, OP_WRITE } from '../../src/transport/ssh/perl-helper-protocol.js';

export interface Sent {
  op: number;
  /** The record's path (several, NUL-separated, for a peek or a look). */
  rel: string;
  chained: boolean;
  /** The record's mode (permission bits, or an op's flags), when it has one. */
  mode?: number;
  /** Answers received before this record was queued: equal for records sent in one turn. */
  answersBefore: number;
  /** Its own answer's place among the answers (1: the first), once it came back. */
  answeredAs?: number;
}

/** Records what goes to the helper; `swap` may change a record before it is sent. */
export function watched(
  t: SshTransport,
  swap?: (op: number, rel: string, options: Record<string, unknown>) => [number, string] | void,
) {
  const { sent, record } = recorder();
  type Run = (ops: unknown, op: number, rel: string, options?: Record<string, unknown>) => Promise<string>;
  const parts = t as unknown as { ops: { run: Run } };
  const run = parts.ops.run.bind(parts.ops);
  parts.ops.run = (ops, op, rel, options = {}) => {
    const [realOp, realRel] = swap?.(op, rel, options) ?? [op, rel];
    return record(op, rel, options, () => run(ops, realOp, realRel, options));
  };
  return sent;
}

/** A list of records, each with the answers heard before it was queued and, once heard, its own answer's place. */
function recorder() {
  const sent: Sent[] = [];
  let answers = 0;
  const record = (op: number, rel: string, options: Record<string, unknown>, send: () => Promise<string>) => {
    const r: Sent = {
      op,
      rel,
      chained: options.chained === true,
      ...modeOf(options),
      answersBefore: answers,
    };
    sent.push(r);
    const answer = send();
    const heard = () => void (r.answeredAs = ++answers);
    void answer.then(heard, heard);
    return answer;
  };
  return { sent, record };
}

/**
 * `watched`, and the helper's channel closed as the first record `when` picks is queued: the
 * host answers nothing from there on (a helper that ends mid-way, with a real sshd).
 */
export async function closingHelper(
  t: SshTransport,
  when: (op: number, rel: string) => boolean,
): Promise<Sent[]> {
  const parts = t as unknown as { ops: { channel(): Promise<{ channel: { close(): void } } | null> } };
  const helper = (await parts.ops.channel())!;
  return watched(t, (op, rel) => {
    if (when(op, rel)) helper.channel.close();
  });
}

/**
 * A file published before another in one chain (publish.ts with `before`), as [op, chained]:
 * its write and rename, then the other's write, the sync and the other's rename.
 */
export const PUBLISHED_BEFORE: ReadonlyArray<[number, boolean]> = [
  [OP_WRITE, false],
  [OP_RENAME, true],
  [OP_WRITE, true],
  [OP_SYNC, true],
  [OP_RENAME, true],
];

/** How many times the records of `sent` waited for an answer (distinct answer counts). */
export const waits = (sent: readonly Sent[]) => new Set(sent.map((s) => s.answersBefore)).size;

/**
 * `watched` for every SshTransport's helper until `stop()` (a deploy made through the API, whose
 * transport a test never holds): all their records in one list.
 */
export function watchedEvery(): { sent: Sent[]; stop(): void } {
  const { sent, record } = recorder();
  type Run = (
    this: unknown,
    ops: unknown,
    op: number,
    rel: string,
    options?: Record<string, unknown>,
  ) => Promise<string>;
  const proto = SshOps.prototype as unknown as { run: Run };
  const run = proto.run;
  proto.run = function (ops, op, rel, options = {}) {
    return record(op, rel, options, () => run.call(this, ops, op, rel, options));
  };
  return { sent, stop: () => void (proto.run = run) };
}

const modeOf = (options: Record<string, unknown>) =>
  typeof options.mode === 'number' ? { mode: options.mode } : {};
