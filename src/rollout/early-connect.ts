/**
 * SSH connections started as a deploy starts, before the release is read: the
 * handshake and the host's shell starts (slow where an rc file is) then overlap
 * with git's work instead of following it. Preflight takes each by target name
 * (its connect() takes the early attempt's outcome, success or error, so a
 * target is not connected twice); what it does not take is closed when the
 * rollout ends. Only targets preflight checks first (up to max-parallel), only
 * when preflight runs, never a folder preflight would refuse. A local target
 * in authoritative mode starts its whole walk the same way (early-walk.ts).
 */
import type { ResolvedConfig, TargetConfig } from '../config/types.js';
import type { Logger } from '../log.js';
import { createTransport } from '../transport/factory.js';
import type { Transport } from '../transport/transport.js';
import { closeOnAbort } from './hard-stop.js';
import { dangerousFolder } from './preflight.js';
import { startEarlyWalk, type EarlyWalk } from './early-walk.js';
import { startEarlyLook, type EarlyLook } from './early-look.js';

interface Started {
  transport: Transport;
  stopListening: () => void;
  /** An SSH host at work on its own, or the attempt ended (Transport.preconnect). */
  atWork?: Promise<void>;
  /** A local target's walk started ahead (early-walk.ts). */
  walk?: EarlyWalk;
  /** An SSH target's state folder looked at once connected (early-look.ts). */
  look?: EarlyLook;
  taken?: boolean;
}

export class EarlyConnections {
  private readonly started = new Map<string, Started>();

  /** Start connecting the first `max-parallel` SSH targets, when this rollout preflights them. */
  static start(
    targets: readonly TargetConfig[],
    o: { config: ResolvedConfig; command: string; log: Logger; signal?: AbortSignal },
  ): EarlyConnections {
    const early = new EarlyConnections();
    if (o.command !== 'deploy' || o.config.preflight === false || o.signal?.aborted) return early;
    const walking = o.config.mode === 'authoritative';
    for (const target of targets.slice(0, o.config.maxParallel)) {
      if (dangerousFolder(target) !== undefined) continue;
      if (target.type === 'local' && !walking) continue;
      const transport = createTransport(target, o.log);
      if (target.type === 'ssh' && !transport.preconnect) continue;
      const atWork = transport.preconnect?.();
      // A cancellation closes it at once, as preflight would (which listens itself once it takes it).
      const s: Started = { transport, stopListening: closeOnAbort(transport, o.signal), atWork };
      if (target.type === 'ssh') s.look = startEarlyLook(transport, o.config.stateDir);
      if (target.type === 'local') {
        const { stateDir, driftScope } = o.config;
        s.walk = startEarlyWalk(transport, { stateDir, driftScope, taken: () => s.taken === true });
      }
      early.started.set(target.name, s);
    }
    return early;
  }

  /** Whether any SSH connection was started (and is still untaken). */
  get dialling(): boolean {
    return [...this.started.values()].some((s) => s.transport.kind === 'ssh');
  }

  /**
   * Once every SSH host started here is at work on its own (authenticated, the file helper's
   * shell asked for), or `capMs` passed (a far host's handshake leaves this process idle
   * anyway). The rollout's first git processes, each a fork of this whole process on the main
   * thread (~20 ms each here), start then: forked during the handshake, they held up each of
   * its replies (ready ~60 ms later in a 100-file SSH update); now the host starts its shell
   * meanwhile.
   */
  async hostsAtWork(capMs = 150): Promise<void> {
    const atWork = [...this.started.values()].map((s) => s.atWork).filter((w) => w !== undefined);
    if (atWork.length === 0) return;
    let timer: NodeJS.Timeout | undefined;
    const cap = new Promise<void>((resolve) => (timer = setTimeout(resolve, capMs)));
    await Promise.race([Promise.all(atWork), cap]);
    clearTimeout(timer);
  }

  /** The connection started for `name`, with its early look if any (once; the caller owns it then). */
  take(name: string): { transport: Transport; look?: EarlyLook } | undefined {
    const started = this.started.get(name);
    if (!started) return undefined;
    this.started.delete(name);
    started.taken = true;
    started.stopListening();
    return { transport: started.transport, look: started.look };
  }

  /** Close every connection nobody took (the rollout stopped before its preflight). */
  async closeAll(): Promise<void> {
    const left = [...this.started.values()];
    this.started.clear();
    for (const s of left) {
      s.taken = true;
      s.stopListening();
    }
    // A walk still starting (its state read) starts nothing once taken; its connect is waited for.
    await Promise.all(left.map((s) => s.walk?.started));
    await Promise.all(left.map((s) => s.transport.close().catch(() => undefined)));
  }
}
