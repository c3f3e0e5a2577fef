/**
 * A write record of the file helper (perl-helper-protocol.ts) whose data comes
 * from a ByteSource as it is read: the header announces the size, then the
 * chunks go onto the channel as they arrive, each waiting for the channel to
 * drain (ssh2 applies the SSH window), so a file of any size holds only the
 * channel's buffer in memory while the whole window stays in use.
 *
 * The data must follow its header with nothing in between: while a record
 * streams, the helper's outbox holds the other records back (see `flush`),
 * and streamed records take turns.
 */
import type { ClientChannel } from 'ssh2';
import { TransportError } from '../../errors.js';
import type { ByteSource } from '../transport.js';
import type { SshConnection } from './connection.js';
import { OP_WRITE } from './perl-helper-protocol.js';
import { flush, HelperGone, type OpsChannel, type SshOps } from './perl-helper-client.js';

/** The streamed record before the next one, per helper channel. */
const turns = new WeakMap<OpsChannel, Promise<void>>();

/**
 * Write `source` to `rel` through the helper; `mode` as in a write record (permission bits,
 * SYNC_FLAG, HASH_FLAG). Resolves to the answer's payload (the blob id with HASH_FLAG).
 */
export async function streamWrite(
  conn: SshConnection,
  client: SshOps,
  ops: OpsChannel,
  rel: string,
  mode: number,
  source: ByteSource,
): Promise<string> {
  const before = turns.get(ops) ?? Promise.resolve();
  let done!: () => void;
  const mine = new Promise<void>((resolve) => (done = resolve));
  turns.set(
    ops,
    before.then(() => mine),
  );
  await before;
  let answer: Promise<string> | undefined;
  try {
    // run() refuses these before queuing anything; then no data may follow either.
    if (conn.lost) throw conn.lost;
    if (conn.closing) throw new TransportError('E_TRANSPORT', `${conn.description}: transport closed`);
    answer = client.run(ops, OP_WRITE, rel, { mode, dataLength: source.size });
    // Awaited only once the data is poured: a stall or a drop rejects it while pour() still waits
    // on the channel, and that must not count as unhandled (it ended the process with a stack).
    answer.catch(() => undefined);
    flush(ops); // the header, after the records queued before it
    ops.streaming = true;
    await pour(client, ops, source);
  } catch (error) {
    answer?.catch(() => undefined); // its answer (or the helper's end) no longer matters
    throw error;
  } finally {
    ops.streaming = false;
    flush(ops); // the records queued meanwhile
    done();
  }
  return answer;
}

/** Send the source's bytes; a record cut short would swallow what follows it, so the helper is ended then. */
async function pour(client: SshOps, ops: OpsChannel, source: ByteSource): Promise<void> {
  const channel = ops.channel;
  let sent = 0;
  try {
    for await (const chunk of source) {
      if (channel.destroyed || !channel.writable) throw new HelperGone('the file helper ended');
      // A buffer the source fills again: handed on only once ssh2 has it in packets (it keeps
      // a chunk the window has no room for, and the stream queues the ones written meanwhile).
      if (source.reused) await written(channel, chunk);
      else if (!channel.write(chunk)) await drained(channel);
      sent += chunk.length;
    }
  } catch (error) {
    // Its end fails what waits on it (retried over SFTP); the next operations start a new helper.
    if (sent < source.size) {
      client.forget();
      channel.close();
    }
    throw error;
  }
}

/** The chunk written, its callback called: the channel keeps nothing of it. */
function written(channel: ClientChannel, chunk: Buffer): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onClose = () => reject(new HelperGone('the file helper ended while a file was sent to it'));
    channel.once('close', onClose);
    channel.write(chunk, (error) => {
      channel.off('close', onClose);
      if (error) reject(error);
      else resolve();
    });
  });
}

function drained(channel: ClientChannel): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const settle = (error?: Error) => {
      channel.off('drain', onDrain);
      channel.off('close', onClose);
      if (error) reject(error);
      else resolve();
    };
    const onDrain = () => settle();
    const onClose = () => settle(new HelperGone('the file helper ended while a file was sent to it'));
    channel.once('drain', onDrain);
    channel.once('close', onClose);
  });
}
