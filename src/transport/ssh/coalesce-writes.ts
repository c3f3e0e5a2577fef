/**
 * ssh2 writes every packet to its TCP socket in four pieces (AES-GCM: the
 * 4-byte length, the ciphertext, the cipher's final block, the 16-byte tag),
 * one `socket.write` each. With Nagle off (connect.ts, for the many small
 * pipelined requests) each piece is a system call and a TCP segment of its
 * own: a 200 MiB file took ~26,000 writes and woke sshd as often.
 *
 * Here the socket is corked on the first write of a tick and uncorked on the
 * next tick (or once FLUSH_AT bytes are held), so what a tick writes (the
 * packets of every chunk the caller had queued, many records) leaves in few
 * `writev`s. Nothing is held back past the current tick, so request/answer
 * round trips do not wait; order is kept.
 */
import { Socket } from 'node:net';
import type { Client } from 'ssh2';

/** Bytes after which a tick's writes are sent without waiting for the tick's end. */
const FLUSH_AT = 256 * 1024;

/** Coalesce `client`'s socket writes per tick (a TCP socket only: a jump host's forwarded channel is left as is). */
export function coalesceWrites(client: Client): void {
  // ssh2 (pinned) keeps the socket it writes to in `_sock`, set by connect().
  const sock = (client as unknown as { _sock?: unknown })._sock;
  if (!(sock instanceof Socket)) return;
  const write = sock.write;
  let held = 0;
  const uncork = () => {
    held = 0;
    sock.uncork();
  };
  sock.write = function (this: Socket, ...args: Parameters<Socket['write']>): boolean {
    if (this.writableCorked === 0) {
      this.cork();
      process.nextTick(uncork);
    }
    const ok = write.apply(this, args);
    held += (args[0] as { length?: number }).length ?? 0;
    // A burst (a window's worth of a big file) goes out in slices, so the host starts on it at once.
    if (held >= FLUSH_AT) uncork();
    return ok;
  } as Socket['write'];
}
