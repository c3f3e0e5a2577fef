/**
 * The TCP connection to the first hop, opened before ssh2 is loaded (~35 ms of
 * the CLI's one thread, more under load): the host accepts it and starts its
 * side (sshd forks, re-executes itself, loads its keys, sends its banner) on
 * its own CPU meanwhile, and the banner is waiting once ssh2 takes the socket.
 */
import { Socket } from 'node:net';

export class EarlySocket {
  private sock: Socket | undefined;
  private failed = false;

  constructor(host: string, port: number) {
    const sock = new Socket();
    // Until handed over, a failure is only noted: ssh2 then dials itself and tells it its way.
    const fail = () => (this.failed = true);
    sock.once('error', fail);
    sock.once('close', fail);
    // Nothing read before ssh2 takes it (it resumes the socket itself): the banner waits for it.
    sock.pause();
    sock.connect({ host, port });
    this.sock = sock;
  }

  /**
   * Resolves once the connect has been asked of the kernel. Node asks on its next tick, which a
   * synchronous load begun before it (ssh2's, ~30 ms of this thread: import() of its CommonJS
   * files) would hold back to the load's end: the host then started its side no earlier than
   * without this socket. Await it before loading.
   */
  dialled(): Promise<void> {
    return new Promise((resolve) => setImmediate(resolve));
  }

  /** The socket for ssh2 (`sock`: connected or still connecting), or undefined where it failed. */
  take(): Socket | undefined {
    const sock = this.sock;
    this.sock = undefined;
    if (sock === undefined || this.failed || sock.destroyed) {
      sock?.destroy();
      return undefined;
    }
    sock.removeAllListeners('error');
    sock.removeAllListeners('close');
    return sock;
  }

  /** Not used after all (the connect failed before dialling): close it. */
  drop(): void {
    this.sock?.destroy();
    this.sock = undefined;
  }
}
