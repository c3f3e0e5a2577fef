import type { ClientChannel } from 'ssh2';
import { TransportError } from '../../errors.js';
import { AnswerParser, encodeRecord, remoteOpsCommand, type Op } from './perl-helper-protocol.js';
import { shellQuote } from '../shell-quote.js';
import type { SshTuning } from './tuning.js';
import type { SshConnection } from './connection.js';
import type { SshExec } from './exec-channels.js';

/** The perl helper of perl-helper-protocol.ts: its channel and the operations awaiting an answer. */
export interface OpsChannel {
  channel: ClientChannel;
  waiting: Map<number, { resolve(payload: string): void; reject(error: Error): void }>;
  stderr: string;
  /** Records not sent yet: everything queued in one turn of the event loop goes out as one write. */
  outbox: Buffer[];
  outboxBytes: number;
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
    text: string,
  ) {
    super(`${text} (${errno})`);
  }
}

/**
 * The host side of perl-helper-protocol.ts, run here: one perl process on one exec
 * channel, started on first use, that writes, renames, links and hashes files
 * for records sent to it.
 */
export class SshOps {
  /** The bulk-operations helper: opened on first use; resolves to null where it cannot run. */
  private ops: Promise<OpsChannel | null> | undefined;
  private nextOpId = 1;

  constructor(
    private readonly conn: SshConnection,
    private readonly exec: SshExec,
    private readonly tuning: Pick<SshTuning, 'bulkOps'>,
  ) {}

  /** Start a new helper on the next call (a failed connection attempt is forgotten). */
  forget(): void {
    this.ops = undefined;
  }

  /** The helper, started on first use where the host has perl; null where it cannot run. */
  channel(): Promise<OpsChannel | null> {
    if (this.tuning.bulkOps === false) return Promise.resolve(null);
    const conn = this.conn;
    const opening: Promise<OpsChannel | null> = (this.ops ??= (async () => {
      const caps = await this.exec.caps();
      if (!caps.exec || !caps.perl) return null;
      const command = `cd ${shellQuote(conn.base)} || exit 1\n${remoteOpsCommand()}`;
      const channel = await this.exec.execChannel(command);
      const ops: OpsChannel = { channel, waiting: new Map(), stderr: '', outbox: [], outboxBytes: 0 };
      const parser = new AnswerParser();
      const gone = (error: Error) => {
        for (const w of ops.waiting.values()) w.reject(error);
        ops.waiting.clear();
      };
      channel.on('data', (chunk: Buffer) => {
        const { answers, error } = parser.push(chunk);
        for (const a of answers) {
          const w = ops.waiting.get(a.id);
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
        // Ended under us (not by close()): later operations go over SFTP.
        if (this.ops === opening) this.ops = Promise.resolve(null);
        if (!conn.lost && !conn.closing)
          conn.log.debug(
            `ssh: the file helper on ${conn.target.host} ended: ${ops.stderr.trim().slice(0, 300)}`,
          );
        gone(
          conn.lost ?? new HelperGone(`the file helper on the host ended ${ops.stderr.trim().slice(0, 300)}`),
        );
      });
      return ops;
    })().catch((error: unknown) => {
      if (conn.lost || conn.closing) throw error;
      conn.log.debug(`ssh: no file helper on ${conn.target.host} (${conn.why(error)}); using SFTP`);
      return null;
    }));
    return opening;
  }

  /** Send one record to the helper; resolves when the host has done it. */
  run(
    ops: OpsChannel,
    op: Op,
    rel: string,
    /** `dataLength` without `data`: the caller sends that many bytes itself, right after (perl-helper-stream.ts). */
    options: { to?: string; mode?: number; data?: Buffer; dataLength?: number } = {},
  ): Promise<string> {
    const conn = this.conn;
    if (conn.lost) return Promise.reject(conn.lost);
    if (conn.closing)
      return Promise.reject(new TransportError('E_TRANSPORT', `${conn.description}: transport closed`));
    const id = this.nextOpId;
    this.nextOpId = this.nextOpId >= 0xffffffff ? 1 : this.nextOpId + 1;
    const data = options.data;
    const record = encodeRecord(id, op, rel, {
      b: options.to,
      mode: options.mode,
      dataLength: data?.length ?? options.dataLength ?? 0,
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
      });
      // Each channel write is at least one SSH packet to encrypt and send: many records share one.
      if (ops.outboxBytes === 0) setImmediate(() => flush(ops));
      ops.outbox.push(record);
      ops.outboxBytes += record.length;
      if (data && data.length > 0) {
        ops.outbox.push(data);
        ops.outboxBytes += data.length;
      }
      if (ops.outboxBytes >= OUTBOX_FLUSH) flush(ops);
    });
  }
}

export function flush(ops: OpsChannel): void {
  if (ops.outboxBytes === 0 || ops.streaming) return;
  const chunk = ops.outbox.length === 1 ? ops.outbox[0]! : Buffer.concat(ops.outbox, ops.outboxBytes);
  ops.outbox = [];
  ops.outboxBytes = 0;
  // The channel keeps writes in order and applies the SSH window.
  ops.channel.write(chunk);
}
