import type { Transport } from '../transport/transport.js';

/**
 * Connections that preflight opened, handed on to the deploy of the same
 * target, so that a target of the first wave is connected once per rollout,
 * not twice: an SSH connection costs a handshake and, on the host, a start of
 * the login user's shell for each of its sessions (slow where an rc file is).
 * Only SSH targets of the first wave that start at once (up to max-parallel)
 * are kept, so no more connections stay open than the wave uses; whatever is
 * not taken is closed when the rollout ends.
 */
export class KeptTransports {
  private readonly kept = new Map<string, Transport>();

  constructor(private readonly wanted: ReadonlySet<string>) {}

  /** The first wave's targets that start at once (up to max-parallel) reuse their preflight connection. */
  static firstWave(waves: readonly (readonly { name: string }[])[], maxParallel: number): KeptTransports {
    return new KeptTransports(new Set((waves[0] ?? []).slice(0, maxParallel).map((t) => t.name)));
  }

  /** Keep `transport` (connected) for target `name`; false: not wanted, the caller closes it. */
  offer(name: string, transport: Transport): boolean {
    if (transport.kind !== 'ssh' || !this.wanted.has(name) || this.kept.has(name)) return false;
    this.kept.set(name, transport);
    return true;
  }

  /** The connection kept for `name`, once (the caller owns it then). */
  take(name: string): Transport | undefined {
    const transport = this.kept.get(name);
    this.kept.delete(name);
    return transport;
  }

  /** Close every connection nobody took (the rollout stopped before those targets ran). */
  async closeAll(): Promise<void> {
    const left = [...this.kept.values()];
    this.kept.clear();
    await Promise.all(left.map((t) => t.close().catch(() => undefined)));
  }
}
