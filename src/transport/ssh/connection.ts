import type { Client as Ssh2Client, SFTPWrapper } from 'ssh2';
import { DiffshipError, TransportError } from '../../errors.js';
import { maskSecrets, type Logger } from '../../log.js';
import { deadline, REPLY_TIMEOUT_MS, type StallTarget } from './deadline.js';
import { endpointLabel, sanitized, type Endpoint } from './errors.js';

/** How long `close` waits for the hosts to close the connections it ended (then it cuts them). */
const CLOSE_GRACE_MS = 2000;

/** ssh2's socket of `client`: its `_sock`, as ssh2 1.x gives no public handle to it. */
function socketOf(client: Ssh2Client): { destroy(): void } | undefined {
  return (client as unknown as { _sock?: { destroy(): void } })._sock;
}

/** ssh2's error for a request still waiting when its channel or connection closed. */
const NO_RESPONSE = 'No response from server';

/** Thrown by `sftp` before the SFTP session is open; `call` opens it and runs the request again. */
class SftpNotOpen extends Error {}

/** A target's description in messages: `user@host:root`, with `ssh://` and the port when it is not 22. */
export function targetLabel(e: { user: string; host: string; port: number }, root: string): string {
  return e.port === 22 ? `${e.user}@${e.host}:${root}` : `ssh://${e.user}@${e.host}:${e.port}${root}`;
}

/**
 * The live state of one SSH connection, shared by the parts of SshTransport
 * (connecting, files, commands, the file helper, hashing): its ssh2 clients,
 * the SFTP channel, the resolved root, and whether it was lost or closed.
 * Every ssh2 call goes through `call`, so that a dropped connection fails it
 * with one clear error; the secrets are masked out of every message.
 */
export class SshConnection implements StallTarget {
  /** Jump hosts first, the target last. */
  clients: Ssh2Client[] = [];
  readonly closedClients = new WeakSet<Ssh2Client>();
  /** Clients past their handshake (authenticated): the others have no session to end politely. */
  readonly readyClients = new WeakSet<Ssh2Client>();
  sftpChannel: SFTPWrapper | undefined;
  /**
   * Opens the SFTP session (connect.ts), set once connected. SFTP is opened only when a request
   * needs it: sshd starts the subsystem through the login user's shell, a second remote shell
   * (slow where an rc file is) that a deploy done by the file helper never pays.
   */
  sftpOpener: ((conn: SshConnection) => Promise<SFTPWrapper>) | undefined;
  private sftpOpening: Promise<SFTPWrapper> | undefined;
  closing = false;
  lost: TransportError | null = null;
  readonly pending = new Set<(error: Error) => void>();

  constructor(
    readonly description: string,
    readonly target: Endpoint,
    /** The target folder; its real path once connect() resolved it. */
    public base: string,
    readonly secrets: string[],
    readonly log: Logger,
    /** `reply-timeout`: the longest wait for any answer from the host (deadline.ts); 0 for none. */
    readonly replyTimeoutMs: number = REPLY_TIMEOUT_MS,
  ) {}

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    const open = this.clients.filter((c) => !this.closedClients.has(c));
    const closed = open.map((c) => new Promise<void>((resolve) => c.once('close', () => resolve())));
    // A client still in its handshake (a host that has not answered yet) loses its socket now: its
    // close event fails the connect waiting on it, which would else wait out its connect-timeout
    // (a SIGTERM during the handshake took the rollout's 4 s give-up).
    this.destroyUnready(open);
    this.endClients();
    this.rejectPending(new TransportError('E_TRANSPORT', `${this.description}: transport closed`));
    await Promise.race([
      Promise.all(closed),
      new Promise((resolve) => setTimeout(resolve, CLOSE_GRACE_MS).unref()),
    ]);
    // A host that never closes its side (a hung sshd) would keep the socket half-closed, and the
    // process alive after its report: cut. ssh2's `destroy` leaves an ended socket alone.
    for (const c of open) if (!this.closedClients.has(c)) socketOf(c)?.destroy();
  }

  /** Cut the sockets of clients still in their handshake (the socket itself: in any order with `end`). */
  private destroyUnready(clients: readonly Ssh2Client[]): void {
    for (const c of clients) if (!this.readyClients.has(c)) socketOf(c)?.destroy();
  }

  /** Forget the clients of a failed connection attempt (the rest of teardown is SshTransport's). */
  reset(): void {
    const old = this.clients;
    this.clients = [];
    this.sftpChannel = undefined;
    this.sftpOpening = undefined;
    this.lost = null;
    this.destroyUnready(old);
    for (const client of old.reverse()) client.end();
  }

  endClients(): void {
    for (const client of [...this.clients].reverse()) client.end();
  }

  /**
   * The SFTP channel ended under us. Nothing more can be done over it, so it counts as a lost
   * connection: every pending and later call fails with the one clear "connection … lost" error
   * (ssh2 itself fails each pending request with a bare "No response from server").
   */
  sftpGone(sftp: SFTPWrapper | undefined = this.sftpChannel): void {
    if (sftp === undefined || sftp !== this.sftpChannel || this.closing) return;
    this.lose(this.target, new Error('the SFTP session on the host ended'));
  }

  /** The connection (or a jump host's) dropped: fail everything pending and everything after. */
  lose(e: Endpoint, error?: Error): void {
    if (this.lost || this.closing) return;
    const why = error ? `: ${maskSecrets(error.message, this.secrets)}` : '';
    this.lost = new TransportError(
      'E_TRANSPORT',
      `${this.description}: connection to ${endpointLabel(e)} lost${why}`,
      { cause: error && sanitized(error, this.secrets) },
    );
    this.log.debug(this.lost.message);
    this.rejectPending(this.lost);
    this.endClients();
  }

  /** `lost` is a stall (the host stopped answering), not a dropped connection. */
  wasStalled = false;

  /** The host stopped answering (deadline.ts): give the connection up, as if it dropped. */
  stalled(error: TransportError): void {
    if (this.lost || this.closing) return;
    this.lost = error;
    this.wasStalled = true;
    this.log.debug(error.message);
    this.rejectPending(error);
    this.endClients();
  }

  rejectPending(error: Error): void {
    for (const reject of this.pending) reject(error);
    this.pending.clear();
  }

  get client(): Ssh2Client {
    const client = this.clients[this.clients.length - 1];
    if (!client)
      throw new TransportError('E_TRANSPORT', `${this.description}: not connected; call connect() first`);
    return client;
  }

  get sftp(): SFTPWrapper {
    if (this.sftpChannel) return this.sftpChannel;
    if (this.sftpOpener && this.clients.length > 0) throw new SftpNotOpen();
    throw new TransportError('E_TRANSPORT', `${this.description}: not connected; call connect() first`);
  }

  /** The SFTP session, opened now if it is not yet (once per connection). */
  ensureSftp(): Promise<SFTPWrapper> {
    if (this.sftpChannel) return Promise.resolve(this.sftpChannel);
    if (this.lost) return Promise.reject(this.lost);
    if (this.closing)
      return Promise.reject(new TransportError('E_TRANSPORT', `${this.description}: transport closed`));
    const opener = this.sftpOpener;
    if (!opener || this.clients.length === 0)
      return Promise.reject(
        new TransportError('E_TRANSPORT', `${this.description}: not connected; call connect() first`),
      );
    const clients = this.clients;
    if (!this.sftpOpening) this.log.debug(`ssh: opening the SFTP session on ${this.target.host}`);
    this.sftpOpening ??= opener(this).then(
      (sftp) => {
        // A reset meanwhile: this session belongs to a connection given up.
        if (this.clients === clients) this.sftpChannel = sftp;
        return sftp;
      },
      (error: unknown) => {
        if (this.clients === clients) this.sftpOpening = undefined;
        throw error;
      },
    );
    return this.sftpOpening;
  }

  /**
   * Run one callback-style ssh2 call as a promise that also rejects when the
   * connection drops or the transport closes (ssh2 alone may never call back).
   */
  call<T>(
    fn: (cb: (error: Error | null | undefined, value?: T) => void) => void,
    /** What is waited for, for the reply-timeout message. */
    what = 'an answer to an SFTP request or to opening a remote shell',
    /** The deadline: reply-timeout, longer for a call made of many requests. */
    deadlineMs = this.replyTimeoutMs,
  ): Promise<T> {
    if (this.lost) return Promise.reject(this.lost);
    if (this.closing)
      return Promise.reject(new TransportError('E_TRANSPORT', `${this.description}: transport closed`));
    if (!this.sftpChannel && this.sftpOpener && this.clients.length > 0) {
      // The request may need the SFTP session, not open yet: try it; if it did, open it and run it then.
      const first = this.callNow(fn, what, deadlineMs);
      if (first !== null) return first;
      return this.ensureSftp().then(() => this.call(fn, what, deadlineMs));
    }
    return this.callNow(fn, what, deadlineMs) ?? Promise.reject(this.lost ?? new Error('no SFTP session'));
  }

  /** call's work; null when `fn` needed the SFTP session before it was open (nothing was sent). */
  private callNow<T>(
    fn: (cb: (error: Error | null | undefined, value?: T) => void) => void,
    what: string,
    deadlineMs: number,
  ): Promise<T> | null {
    let unopened = false;
    const promise = new Promise<T>((resolve, reject) => {
      const timer = deadline(this, () => what, deadlineMs);
      const onLost = (error: Error) => {
        timer.done();
        reject(error);
      };
      this.pending.add(onLost);
      try {
        fn((error, value) => {
          timer.done();
          this.pending.delete(onLost);
          // ssh2's answer for a request whose channel or connection closed before the reply.
          if (error?.message === NO_RESPONSE) this.sftpGone();
          if (this.lost) reject(this.lost);
          else if (error) reject(error);
          else resolve(value as T);
        });
      } catch (error) {
        timer.done();
        this.pending.delete(onLost);
        if (error instanceof SftpNotOpen) unopened = true;
        reject(this.lost ?? error);
      }
    });
    if (!unopened) return promise;
    promise.catch(() => undefined);
    return null;
  }

  // ── errors ─────────────────────────────────────────────────────────────

  why(error: unknown): string {
    const message = error instanceof Error ? error.message : String(error);
    return maskSecrets(message, this.secrets);
  }

  safeCause(error: unknown): unknown {
    return error instanceof Error
      ? sanitized(error as Error & { code?: string | number }, this.secrets)
      : error;
  }

  /** E_TRANSPORT naming the operation and path (or the lost connection, which says more). */
  fail(op: string, rel: string, error: unknown, to?: string): Error {
    if (error instanceof DiffshipError) return error;
    if (this.lost) return this.lost;
    const what = `${JSON.stringify(rel)}${to === undefined ? '' : ` to ${JSON.stringify(to)}`}`;
    // The file helper's no-follow check (or O_NOFOLLOW) found a link on the path.
    if ((error as { errno?: unknown } | null)?.errno === 'ELOOP')
      return new TransportError(
        'E_UNSAFE',
        `${this.description}: refusing to ${op} ${what}: a symlink is on its path, and diffship never writes through one`,
      );
    return new TransportError(
      'E_TRANSPORT',
      `${this.description}: cannot ${op} ${what}: ${this.why(error)}`,
      { cause: this.safeCause(error) },
    );
  }
}
