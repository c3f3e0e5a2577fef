/**
 * HAProxy through its runtime API (a unix socket, `stats socket … level
 * admin`): `set server <backend>/<server> state drain|ready`, then `show stat`
 * until the server's current sessions reach 0. On this machine the socket is
 * spoken to directly; on a remote balancer host through `socket-command`
 * (socat by default), one command per connection.
 */
import net from 'node:net';
import type { BalancerConfig } from '../config/types.js';
import { DiffshipError } from '../errors.js';
import { shellQuote } from '../transport/shell-quote.js';
import { cancelled, Serial, waitUntilIdle, type Balancer, type ServerState } from './balancer.js';
import { commandFailure, type BalancerHost } from './host.js';
import { inService, parseShowStat } from './haproxy-stat.js';

type HaproxyConfig = Extract<BalancerConfig, { type: 'haproxy' }>;

const COMMAND_MS = 30_000;
/** Answers of the runtime API are small; more than this is not an answer. */
const MAX_ANSWER = 4 << 20;

/** Send one command to a local runtime API socket and read the answer (HAProxy closes after it). */
export function askSocket(socket: string, command: string, signal?: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(cancelled());
    const conn = net.createConnection(socket);
    let answer = '';
    const fail = (error: Error) => {
      conn.destroy();
      reject(error);
    };
    const timer = setTimeout(
      () => fail(new Error(`no answer from ${socket} within ${COMMAND_MS} ms`)),
      COMMAND_MS,
    );
    const onAbort = () => fail(cancelled());
    signal?.addEventListener('abort', onAbort, { once: true });
    conn.setEncoding('utf8');
    conn.on('connect', () => conn.end(`${command}\n`));
    conn.on('data', (chunk: string) => {
      answer += chunk;
      if (answer.length > MAX_ANSWER) fail(new Error(`answer from ${socket} too long`));
    });
    conn.on('error', (error) => fail(new Error(`haproxy socket ${socket}: ${error.message}`)));
    conn.on('close', () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      resolve(answer);
    });
  });
}

export class HaproxyBalancer implements Balancer {
  readonly description: string;
  private readonly serial = new Serial();

  constructor(
    private readonly config: HaproxyConfig,
    private readonly host: BalancerHost | null,
  ) {
    this.description = `haproxy backend ${config.backend} (${host?.where ?? 'this machine'}, ${config.socket})`;
  }

  async servers(signal?: AbortSignal): Promise<ServerState[]> {
    const stat = await this.stat(signal);
    return stat.map((s) => ({ name: s.name, inService: inService(s.status) }));
  }

  async drain(server: string, signal: AbortSignal): Promise<string> {
    await this.serial.run(() => this.setState(server, 'drain', signal));
    const idle = await waitUntilIdle(() => this.sessions(server, signal), 'session(s)', {
      timeoutMs: this.config.drainTimeoutMs,
      intervalMs: this.config.intervalMs,
      signal,
    });
    return `${this.config.backend}/${server} state drain; ${idle}`;
  }

  async restore(server: string, signal: AbortSignal): Promise<string> {
    await this.serial.run(() => this.setState(server, 'ready', signal));
    return `${this.config.backend}/${server} state ready`;
  }

  async close(): Promise<void> {
    await this.host?.close();
  }

  private async setState(server: string, state: 'drain' | 'ready', signal: AbortSignal): Promise<void> {
    const answer = await this.ask(`set server ${this.config.backend}/${server} state ${state}`, signal);
    // Success is an empty answer; anything else is HAProxy saying why not.
    if (answer.trim() !== '') {
      throw new DiffshipError(
        'E_HOOK',
        `haproxy: set server ${this.config.backend}/${server} state ${state}: ${answer.trim()}`,
      );
    }
  }

  private async stat(signal?: AbortSignal) {
    const answer = await this.ask('show stat', signal);
    try {
      return parseShowStat(answer, this.config.backend);
    } catch (error) {
      throw new DiffshipError('E_HOOK', `haproxy ${this.config.socket}: ${(error as Error).message}`);
    }
  }

  private async sessions(server: string, signal: AbortSignal): Promise<number> {
    const row = (await this.stat(signal)).find((s) => s.name === server);
    if (!row)
      throw new DiffshipError('E_HOOK', `haproxy: no server ${server} in backend ${this.config.backend}`);
    return row.sessions;
  }

  private async ask(command: string, signal?: AbortSignal): Promise<string> {
    if (!this.host) {
      try {
        return await askSocket(this.config.socket, command, signal);
      } catch (error) {
        if (error instanceof DiffshipError) throw error;
        throw new DiffshipError('E_HOOK', (error as Error).message, { cause: error });
      }
    }
    const via = this.config.socketCommand.split('{socket}').join(shellQuote(this.config.socket));
    const line = `printf '%s\\n' ${shellQuote(command)} | ${via}`;
    const r = await this.host.exec(line, COMMAND_MS, signal);
    if (r.code !== 0) throw new DiffshipError('E_HOOK', `${this.host.where}: ${commandFailure(via, r)}`);
    return r.stdout;
  }
}
