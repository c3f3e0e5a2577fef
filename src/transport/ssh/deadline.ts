/**
 * Deadlines for everything diffship waits on from an SSH host (issue 13, "no
 * stall, ever"). A host can stay connected (keepalives answered) while its
 * side stops answering: a login rc file blocked on a lock stalls every new
 * remote shell, a hung disk stalls the SFTP server or the file helper. Each
 * wait is bounded by `reply-timeout`: an SFTP request or an exec channel open
 * (SshConnection.call), an internal command that says nothing (watchIdle), the
 * file helper while operations wait on it (watchHelper). When one runs out the
 * whole connection is given up with one line naming the host, what was waited
 * for and the setting to raise: nothing more is sent to a host in that state,
 * and every other pending operation fails at once instead of waiting its turn.
 */
import type { ClientChannel } from 'ssh2';
import { TransportError } from '../../errors.js';
import { formatDuration } from '../../report/format.js';

/**
 * Default `reply-timeout`: longer than any answer a working host takes to give, and shorter than
 * the lock's lease (60 s) less a renewal period (20 s), so a stalled host fails the target before
 * the lease it could not renew runs out.
 */
export const REPLY_TIMEOUT_MS = 30_000;

/** A folder listing is many SFTP requests in one call: it gets this many reply-timeouts. */
export const LISTING_DEADLINE_FACTOR = 10;

/** What a deadline needs of the connection: its name, and a way to give it up. */
export interface StallTarget {
  readonly description: string;
  readonly replyTimeoutMs: number;
  /** Give the connection up with `error`: every pending and later operation fails with it. */
  stalled(error: TransportError): void;
}

/** The one-line error for a host that did not answer `what` in time. */
function stallError(target: StallTarget, what: string, waited = target.replyTimeoutMs): TransportError {
  const ms = target.replyTimeoutMs;
  return new TransportError(
    'E_TRANSPORT',
    `${target.description}: no answer from the host for ${formatDuration(waited)} while waiting for ${what} — ` +
      'the host is stalled (a blocked login rc file, a hung disk?); nothing more was sent to it. ' +
      `Fix the host, or raise reply-timeout (now ${formatDuration(ms)}) if it is only slow`,
  );
}

/** Starts a timer that gives the connection up unless `done` is called first. */
export function deadline(
  target: StallTarget,
  what: () => string,
  /** Longer for a wait made of many requests (a folder listing); default reply-timeout. */
  ms = target.replyTimeoutMs,
): { done(): void } {
  if (!(ms > 0)) return { done: () => undefined };
  const timer = setTimeout(() => target.stalled(stallError(target, what(), ms)), ms);
  timer.unref();
  return { done: () => clearTimeout(timer) };
}

/**
 * An internal command's channel that must keep saying something (output, or
 * its end) at least every reply-timeout. Internal commands are short or print
 * as they go; a silent one is a stalled shell or disk.
 */
export function watchIdle(target: StallTarget, channel: ClientChannel, what: string): void {
  let current = deadline(target, () => what);
  const touch = () => {
    current.done();
    current = deadline(target, () => what);
  };
  channel.on('data', touch);
  channel.stderr.on('data', touch);
  channel.once('close', () => current.done());
}

/**
 * The file helper: while operations wait on it, an answer must come, or the
 * data sent to it move on, at least every reply-timeout. An idle helper
 * (nothing asked) may stay silent forever.
 */
export function watchHelper(
  target: StallTarget,
  channel: ClientChannel,
  waiting: { readonly size: number },
): void {
  const ms = target.replyTimeoutMs;
  if (!(ms > 0)) return;
  // The monotonic clock: a wall clock stepped forward must not read as the host's silence.
  let heard = performance.now();
  let idleSince: number | null = null;
  let sending = sendState(channel);
  channel.on('data', () => (heard = performance.now()));
  // A check every quarter of the deadline: the stall is seen at most 25% late.
  const timer = setInterval(
    () => {
      const now = performance.now();
      // The host taking in what we send (a big file on a slow link, answered only at its end)
      // is progress too: the SSH window moves only as the helper reads.
      const state = sendState(channel);
      if (state !== sending) heard = now;
      sending = state;
      if (waiting.size === 0) {
        idleSince = null;
        return;
      }
      // Waiting starts counting when the first operation was queued, not at the last answer.
      idleSince ??= now;
      if (now - Math.max(heard, idleSince) >= ms)
        target.stalled(stallError(target, `the file helper to answer ${waiting.size} operation(s)`));
    },
    Math.max(10, Math.floor(ms / 4)),
  );
  timer.unref();
  channel.once('close', () => clearInterval(timer));
}

/**
 * What of our data is on its way: ssh2's send window for the channel (it moves when we send and
 * when the host, having read, grants more) and the bytes still buffered. Unchanged while a
 * stalled host reads nothing.
 */
function sendState(channel: ClientChannel): string {
  const window = (channel as unknown as { outgoing?: { window?: number } }).outgoing?.window;
  return `${window ?? '?'}/${channel.writableLength}`;
}
