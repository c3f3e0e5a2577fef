/**
 * Open-source NGINX has no API: drain a server by marking it `down` in the
 * upstream include file diffship manages (written atomically), `nginx -t`,
 * then `nginx -s reload`. Old workers finish their requests and exit; new
 * ones no longer send to the server. In flight = established TCP connections
 * from the balancer host to the server's address (`ss -Htn state established
 * dst <addr>`), read until it is 0 twice in a row.
 */
import type { BalancerConfig } from '../config/types.js';
import { DiffshipError } from '../errors.js';
import { sleep } from '../rollout/hooks.js';
import { shellQuote } from '../transport/shell-quote.js';
import { cancelled, Serial, waitUntilIdle, type Balancer, type ServerState } from './balancer.js';
import { commandFailure, type BalancerHost } from './host.js';
import { parseUpstream, setServerDown } from './nginx-upstream.js';

type NginxConfig = Extract<BalancerConfig, { type: 'nginx' }>;

const COMMAND_MS = 30_000;

export class NginxBalancer implements Balancer {
  readonly description: string;
  private readonly serial = new Serial();

  constructor(
    private readonly config: NginxConfig,
    private readonly host: BalancerHost,
  ) {
    this.description = `nginx upstream ${config.upstreamFile} (${host.where})`;
  }

  async servers(signal?: AbortSignal): Promise<ServerState[]> {
    const text = await this.host.readText(this.config.upstreamFile, signal);
    return parseUpstream(text).map((s) => ({
      name: s.address,
      inService: !s.down && !s.backup,
      backup: s.backup,
    }));
  }

  async drain(server: string, signal: AbortSignal): Promise<string> {
    const changed = await this.serial.run(() => this.mark(server, true, signal));
    // A reload is a signal to the master: give old workers a moment to stop accepting before counting.
    if (!(await sleep(this.config.intervalMs, signal))) throw cancelled();
    const idle = await waitUntilIdle(() => this.connections(server, signal), 'connection(s)', {
      timeoutMs: this.config.drainTimeoutMs,
      intervalMs: this.config.intervalMs,
      signal,
    });
    return `${changed}; ${idle}`;
  }

  restore(server: string, signal: AbortSignal): Promise<string> {
    return this.serial.run(() => this.mark(server, false, signal));
  }

  async close(): Promise<void> {
    await this.host.close();
  }

  /** Set or clear `down`, test, reload. A config nginx rejects is put back as it was. */
  private async mark(server: string, down: boolean, signal: AbortSignal): Promise<string> {
    const file = this.config.upstreamFile;
    const before = await this.host.readText(file, signal);
    const after = setServerDown(before, server, down);
    if (after === null) {
      throw new DiffshipError(
        'E_CONFIG',
        `no "server ${server}" line in ${file}; fix balancer-server or the file`,
      );
    }
    const verb = down ? 'marked down' : 'back in service';
    if (after === before) return `${server} already ${down ? 'down' : 'up'} in ${file}`;
    await this.host.writeTextAtomic(file, after, signal);
    const test = await this.host.exec(`${this.config.nginx} -t`, COMMAND_MS, signal);
    if (test.code !== 0) {
      await this.host.writeTextAtomic(file, before, AbortSignal.timeout(COMMAND_MS));
      throw new DiffshipError(
        'E_HOOK',
        `nginx rejected ${file}, put back: ${commandFailure(`${this.config.nginx} -t`, test)}`,
      );
    }
    const reload = await this.host.exec(`${this.config.nginx} -s reload`, COMMAND_MS, signal);
    if (reload.code !== 0) {
      throw new DiffshipError('E_HOOK', commandFailure(`${this.config.nginx} -s reload`, reload));
    }
    return `${server} ${verb}, nginx reloaded`;
  }

  /** Established connections to `server` seen on the balancer host. */
  private async connections(server: string, signal: AbortSignal): Promise<number> {
    const command = `ss -Htn state established dst ${shellQuote(server)}`;
    const r = await this.host.exec(command, COMMAND_MS, signal);
    if (r.code !== 0) throw new DiffshipError('E_HOOK', commandFailure(command, r));
    return r.stdout.split('\n').filter((l) => l.trim() !== '').length;
  }
}
