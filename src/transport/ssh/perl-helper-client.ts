import type { ClientChannel } from 'ssh2';
import { TransportError } from '../../errors.js';
import { encodeRecord, OP_CHDIR, remoteOpsCommand, type Op } from './perl-helper-protocol.js';
import { AnswerParser, type FrameSink } from './answer-parser.js';
import type { SshTuning } from './tuning.js';
import type { SshConnection } from './connection.js';
import { watchHelper } from './deadline.js';
import { outboxChunks } from './outbox-chunks.js';
import type { SshExec } from './exec-channels.js';

/** The perl helper of perl-helper-protocol.ts: its channel and the operations awaiting an answer. */
export interface OpsChannel {
  channel: ClientChannel;
  waiting: Map<
    number,
    {
      resolve(payload: string): void;
      reject(error: Error): void;
      part?(payload: string, bytes?: Buffer): void;
      /** A read's size, before its frames: a buffer of that size to read them into, or a sink (AnswerParser's `sized`). */
      sized?(size: number): Buffer | FrameSink | undefined;
    }
  >;
  stderr: string;
  /** Records not sent yet: everything queued in one turn of the event loop goes out as one write. */
  outbox: Buffer[];
  outboxBytes: number;
  /** Told once the outbox's records are on the channel and it has room again (run's `onQueued`). */
  queued: Array<() => void>;
  /** Those told once the channel drains (one listener for all). */
  draining?: Array<() => void>;
  /** The channel closed: records sent now would wait for ever. */
  closed: boolean;
  /** A record's data is being streamed onto the channel (perl-helper-stream.ts): the outbox waits. */
  streaming?: boolean;
}

/** Above this many queued bytes the outbox is sent at once rather than at the end of the turn. */
const OUTBOX_FLUSH = 1 << 20;

/** The helper ended before answering (not the connection): the operation may be retried over SFTP. */
export class HelperGone extends Error {}

/** An operation the host refused: its errno name (ENOENT, EXDEV, …) and text. */
export class OpError extends Error {
  constructor(
    readonly errno: string,
    readonly text: string,
  ) {
    super(`${text} (${errno})`);
  }
}

/**
 * The host side of perl-helper-protocol.ts, run here: one perl process on one exec
 * channel, started right after the handshake (in parallel with the SFTP session
 * and the probe, so that their remote shell starts overlap), that writes,
 * renames, links, hashes, syncs and removes files for records sent to it.
 */
export class SshOps {
  /** The helper's exec, started by start() (or on first use). */
  private started: Promise<OpsChannel | null> | undefined;
  /** The helper, moved into the target folder: null where it cannot run. */
  private ops: Promise<OpsChannel | null> | undefined;
  /** That helper once known to run (channel() resolved to it). */
  private live: OpsChannel | null = null;
  private nextOpId = 1;

  constructor(
    private readonly conn: SshConnection,
    private readonly exec: SshExec,
    private readonly tuning: Pick<SshTuning, 'bulkOps'>,
  ) {}

  /** Start a new helper on the next call (a failed connection attempt is forgotten). */
  forget(): void {
    this.started = undefined;
    this.ops = undefined;
    this.live = null;
  }

  /**
   * Whether the helper runs now (known to, and its channel open): records sent to it are done
   * by the host one after another, in the order they were sent (Transport.inOrder).
   */
  running(): boolean {
    return this.live !== null && !this.live.closed;
  }

  /**
   * Open the helper's exec channel now, before the target folder is resolved: a remote
   * shell start (costly on a host with a slow rc file) best overlaps the SFTP session's.
   */
  start(): void {
    if (this.tuning.bulkOps === false) return;
    void this.open().catch(() => undefined);
  }

  /** The helper's channel as started (still in the login folder); null where exec failed. */
  opened(): Promise<OpsChannel | null> {
    if (this.tuning.bulkOps === false) return Promise.resolve(null);
    return this.open().catch((error: unknown) => {
      if (this.conn.lost || this.conn.closing) throw error;
      return null;
    });
  }

  private open(): Promise<OpsChannel | null> {
    const conn = this.conn;
    if (this.started) return this.started;
    // Told to the probe (exec-channels.ts): a helper that says it is ready spares the probe's exec.
    let up: (ready: boolean) => void = () => undefined;
    this.exec.helperStarting(new Promise<boolean>((resolve) => (up = resolve)));
    const starting: Promise<OpsChannel | null> = (this.started = (async () => {
      const channel = await this.exec.execChannel(remoteOpsCommand()).catch((error: unknown) => {
        up(false);
        throw error;
      });
      const ops: OpsChannel = {
        channel,
        waiting: new Map(),
        stderr: '',
        outbox: [],
        outboxBytes: 0,
        queued: [],
        closed: false,
      };
      watchHelper(conn, channel, ops.waiting);
      const parser = new AnswerParser((id, size) => ops.waiting.get(id)?.sized?.(size));
      const gone = (error: Error) => {
        for (const w of ops.waiting.values()) w.reject(error);
        ops.waiting.clear();
      };
      channel.on('data', (chunk: Buffer) => {
        const { answers, error } = parser.push(chunk);
        if (parser.isReady) up(true);
        for (const a of answers) {
          const w = ops.waiting.get(a.id);
          if (a.ok && a.part) {
            w?.part?.(a.payload, a.bytes); // more of a long answer: the record still waits for its end
            continue;
          }
          ops.waiting.delete(a.id);
          if (a.ok) w?.resolve(a.payload);
          else w?.reject(new OpError(a.errno, a.message));
        }
        if (error) {
          // Something else writes to the helper's output: stop using it (what waits is retried over SFTP).
          gone(new HelperGone(error.message));
          channel.close();
        }
      });
      channel.stderr.on(
        'data',
        (chunk: Buffer) => (ops.stderr = (ops.stderr + chunk.toString()).slice(-2000)),
      );
      channel.on('close', () => {
        up(false);
        ops.closed = true;
        // Ended under us (not by close()): later operations go over SFTP.
        if (this.started === starting) this.ops = Promise.resolve(null);
        if (!conn.lost && !conn.closing)
          conn.log.debug(
            `ssh: the file helper on ${conn.target.host} ended: ${ops.stderr.trim().slice(0, 300)}`,
          );
        gone(
          conn.lost ?? new HelperGone(`the file helper on the host ended ${ops.stderr.trim().slice(0, 300)}`),
        );
      });
      return ops;
    })());
    return starting;
  }

  /** The helper, in the target folder, where the host has perl; null where it cannot run. */
  channel(): Promise<OpsChannel | null> {
    if (this.tuning.bulkOps === false) return Promise.resolve(null);
    const conn = this.conn;
    this.ops ??= (async () => {
      const ops = await this.open();
      if (!ops) return null;
      // The first record, ahead of any other: from here on the helper's paths are the target's.
      // Sent before the helper is known to run: perl reads it once started, and where exec runs
      // something else (an SFTP-only account's forced sftp-server, waiting on its input), that
      // ends on it instead of waiting for ever.
      this.run(ops, OP_CHDIR, conn.base).catch(() => undefined);
      const usable = await this.exec.caps().then((caps) => caps.exec && caps.perl);
      if (usable && !ops.closed) return (this.live = ops);
      // No perl with Digest::SHA (it has exited already), no exec at all, or it ended: close it.
      ops.channel.close();
      return null;
    })().catch((error: unknown) => {
      if (conn.lost || conn.closing) throw error;
      conn.log.debug(`ssh: no file helper on ${conn.target.host} (${conn.why(error)}); using SFTP`);
      return null;
    });
    return this.ops;
  }

  /** Send one record to the helper; resolves when the host has done it. */
  run(
    ops: OpsChannel,
    op: Op,
    rel: string,
    /** `dataLength` without `data`: the caller sends that many bytes itself, right after (perl-helper-stream.ts). */
    options: {
      to?: string;
      mode?: number;
      /** The record's data: one buffer, or several sent back to back (a bulk write's files). */
      data?: Buffer | readonly Buffer[];
      dataLength?: number;
      /** Gets each part of a long answer (scan's lines, read's raw frames), in order, before the answer itself. */
      onPart?: (payload: string, bytes?: Buffer) => void;
      /** A read's size, before its frames: a buffer to read them into, a sink, or undefined (AnswerParser's `sized`). */
      onSized?: (size: number) => Buffer | FrameSink | undefined;
      /** Called once the record is on the channel and the channel has room for more (see `flush`). */
      onQueued?: () => void;
      /** Run only if the record sent right before it (in the same turn) succeeded (CHAIN_FLAG). */
      chained?: boolean;
    } = {},
  ): Promise<string> {
    const conn = this.conn;
    if (conn.lost) return Promise.reject(conn.lost);
    if (conn.closing)
      return Promise.reject(new TransportError('E_TRANSPORT', `${conn.description}: transport closed`));
    if (ops.closed) return Promise.reject(new HelperGone('the file helper on the host ended'));
    const id = this.nextOpId;
    this.nextOpId = this.nextOpId >= 0xffffffff ? 1 : this.nextOpId + 1;
    const data =
      options.data === undefined ? [] : Buffer.isBuffer(options.data) ? [options.data] : options.data;
    let dataLength = options.dataLength ?? 0;
    if (options.data !== undefined) dataLength = data.reduce((sum, d) => sum + d.length, 0);
    const record = encodeRecord(id, op, rel, {
      b: options.to,
      mode: options.mode,
      dataLength,
      chained: options.chained,
    });
    return new Promise<string>((resolve, reject) => {
      const onLost = (error: Error) => {
        ops.waiting.delete(id);
        reject(error);
      };
      conn.pending.add(onLost);
      ops.waiting.set(id, {
        resolve: (payload) => {
          conn.pending.delete(onLost);
          resolve(payload);
        },
        reject: (error) => {
          conn.pending.delete(onLost);
          reject(error);
        },
        part: options.onPart,
        sized: options.onSized,
      });
      // Each channel write is at least one SSH packet to encrypt and send: many records share one.
      if (ops.outboxBytes === 0) setImmediate(() => flush(ops));
      ops.outbox.push(record);
      ops.outboxBytes += record.length;
      for (const d of data)
        if (d.length > 0) {
          ops.outbox.push(d);
          ops.outboxBytes += d.length;
        }
      if (options.onQueued) ops.queued.push(options.onQueued);
      if (ops.outboxBytes >= OUTBOX_FLUSH) flush(ops);
    });
  }
}

export function flush(ops: OpsChannel): void {
  if (ops.outboxBytes === 0 || ops.streaming) return;
  const chunks = outboxChunks(ops.outbox);
  ops.outbox = [];
  ops.outboxBytes = 0;
  const queued = ops.queued;
  ops.queued = [];
  // The channel keeps writes in order and applies the SSH window; above its high-water mark the
  // writers that wait for room hear of it once it drains (a closed channel fails their records).
  let room = true;
  for (const chunk of chunks) room = ops.channel.write(chunk);
  if (room || queued.length === 0) for (const f of queued) f();
  else {
    if (ops.draining === undefined) {
      const waiting: Array<() => void> = (ops.draining = []);
      ops.channel.once('drain', () => {
        ops.draining = undefined;
        for (const f of waiting) f();
      });
    }
    ops.draining.push(...queued);
  }
}
