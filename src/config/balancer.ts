/**
 * The `balancer` section and each target's `balancer-server` (docs/balancer.md):
 * the keys each balancer type needs, paths resolved, and the servers checked
 * for duplicates. Whether a wave would drain every server is checked against
 * the balancer itself before wave 1 (src/balancer/preflight.ts).
 */
import path from 'node:path';
import { DEFAULTS } from './defaults.js';
import { durationField, expandHome, portField, type ResolveContext } from './fields.js';
import type { KeyPath } from './problems.js';
import type { BalancerInput, TargetInput } from './schema.js';
import { resolveSsh } from './ssh.js';
import type { BalancerConfig, TargetConfig } from './types.js';

const AT: KeyPath = ['balancer'];

/** Resolve `balancer`; undefined when absent. Problems go to ctx. */
export function resolveBalancer(
  ctx: ResolveContext,
  b: BalancerInput | undefined,
): BalancerConfig | undefined {
  if (b === undefined) return undefined;
  const common = {
    drainTimeoutMs: durationField(ctx, b['drain-timeout'], [...AT, 'drain-timeout'], '30s', false),
    intervalMs: durationField(ctx, b.interval, [...AT, 'interval'], '200ms', true),
  };
  const remote = b.remote;
  const ssh = remote
    ? resolveSsh(
        ctx,
        { ...remote, name: 'balancer', path: '/' } as TargetInput,
        [...AT, 'remote'],
        remote.host,
        portField(ctx, remote.port, [...AT, 'remote', 'port']) ?? DEFAULTS.ssh.port,
      )
    : undefined;
  const only = (keys: Array<keyof BalancerInput>, type: string) => {
    for (const key of keys)
      if (b[key] !== undefined) ctx.problems.add([...AT, key], `only for type: ${type}`);
  };
  if (b.type === 'nginx') {
    only(['socket', 'backend', 'socket-command'], 'haproxy');
    const file = b['upstream-file'];
    if (file === undefined) {
      ctx.problems.add(
        [...AT, 'upstream-file'],
        'required for nginx: the include file with the upstream servers',
      );
    }
    // On this machine relative to the config; on a remote balancer host as written (absolute).
    const upstreamFile =
      file === undefined ? '' : ssh ? file : path.resolve(ctx.baseDir, expandHome(ctx, file));
    if (ssh && file !== undefined && !file.startsWith('/')) {
      ctx.problems.add(
        [...AT, 'upstream-file'],
        `expected an absolute path on the balancer host (got "${file}")`,
      );
    }
    return {
      ...common,
      ...(ssh ? { remote: ssh } : {}),
      type: 'nginx',
      upstreamFile,
      nginx: b.nginx ?? 'nginx',
    };
  }
  only(['upstream-file', 'nginx'], 'nginx');
  if (b.socket === undefined)
    ctx.problems.add([...AT, 'socket'], 'required for haproxy: the runtime API socket');
  if (b.backend === undefined) ctx.problems.add([...AT, 'backend'], 'required for haproxy: the backend name');
  const socket =
    b.socket === undefined ? '' : ssh ? b.socket : path.resolve(ctx.baseDir, expandHome(ctx, b.socket));
  return {
    ...common,
    ...(ssh ? { remote: ssh } : {}),
    type: 'haproxy',
    socket,
    backend: b.backend ?? '',
    socketCommand: b['socket-command'] ?? 'socat stdio UNIX-CONNECT:{socket}',
  };
}

/** Every target has a distinct `balancer-server` when there is a balancer, and none without. */
export function checkBalancerServers(
  ctx: ResolveContext,
  balancer: BalancerConfig | undefined,
  targets: readonly TargetConfig[],
): void {
  const seen = new Map<string, string>();
  const claim = (server: string | undefined, owner: string, at: KeyPath) => {
    if (server === undefined) return;
    if (!balancer) return ctx.problems.add(at, 'set, but there is no balancer section');
    const other = seen.get(server);
    if (other !== undefined) ctx.problems.add(at, `same server as ${other}`);
    else seen.set(server, owner);
  };
  targets.forEach((t, i) => {
    const at: KeyPath = ['targets', i];
    if (t.nodes) {
      t.nodes.forEach((n, j) => {
        claim(n.balancerServer, `node ${t.name}/${n.name}`, [...at, 'nodes', j, 'balancer-server']);
        if (balancer && n.balancerServer === undefined) {
          ctx.problems.add(
            [...at, 'nodes', j],
            `has no balancer-server: name the node's server at the ${balancer.type} balancer`,
          );
        }
      });
      return;
    }
    claim(t.balancerServer, `target ${t.name}`, [...at, 'balancer-server']);
    if (balancer && t.balancerServer === undefined) {
      ctx.problems.add(
        at,
        `has no balancer-server: name its server at the ${balancer.type} balancer (${balancer.type === 'nginx' ? 'the address in the upstream, e.g. 127.0.0.1:7401' : 'the server name in the backend'})`,
      );
    }
  });
}
