/**
 * The built-in drain (docs/balancer.md): `createBalancer` for the config's
 * `balancer` section, and the check that no wave drains every server.
 */
import type { BalancerConfig, TargetConfig } from '../config/types.js';
import { ConfigError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Balancer } from './balancer.js';
import { HaproxyBalancer } from './haproxy.js';
import { balancerHost } from './host.js';
import { NginxBalancer } from './nginx.js';

export type { Balancer } from './balancer.js';

/** The balancer of a config; commands on this machine run in `cwd` (the config folder). */
export function createBalancer(config: BalancerConfig, cwd: string, log: Logger): Balancer {
  if (config.type === 'nginx') return new NginxBalancer(config, balancerHost(config.remote, cwd, log));
  return new HaproxyBalancer(config, config.remote ? balancerHost(config.remote, cwd, log) : null);
}

/**
 * Before wave 1: every target's server exists at the balancer, and no wave
 * takes out every server still in service (a drained node must not be the
 * last one). Throws ConfigError (exit 2) before anything is written.
 */
export async function checkWaves(
  balancer: Balancer,
  waves: readonly (readonly TargetConfig[])[],
  signal?: AbortSignal,
): Promise<void> {
  const servers = await balancer.servers(signal);
  const names = new Set(servers.map((s) => s.name));
  const serving = servers.filter((s) => s.inService).map((s) => s.name);
  for (const t of waves.flat()) {
    const own = t.nodes
      ? t.nodes.map((n) => [`${t.name}/${n.name}`, n.balancerServer] as const)
      : [[t.name, t.balancerServer] as const];
    for (const [who, server] of own) {
      if (server === undefined || names.has(server)) continue;
      throw new ConfigError(
        `target ${who}: balancer-server ${JSON.stringify(server)} is not a server of ${balancer.description}; expected one of ${[...names].join(', ') || '(none)'}`,
      );
    }
  }
  // A target with nodes drains one node at a time: one of them counts, like a target.
  for (const [w, wave] of waves.entries()) {
    const drained = wave
      .map((t) => (t.nodes ? t.nodes[0]?.balancerServer : t.balancerServer))
      .filter((s): s is string => s !== undefined);
    const left = serving.filter((s) => !drained.includes(s));
    if (drained.length > 0 && left.length === 0) {
      throw new ConfigError(
        `wave ${w + 1} would drain every server in service at ${balancer.description} (${drained.join(', ')}); use smaller waves (e.g. waves: [1]) so one keeps serving`,
      );
    }
  }
}
