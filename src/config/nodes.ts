/**
 * `nodes` of a target: hosts that mount the same folder (shared storage).
 * Each node gets the target's vars with its own over them and `node` = its
 * name; every node must define the same var names, so a placeholder valid
 * for one is valid for all.
 */
import type { KeyPath } from './problems.js';
import type { TargetInput } from './schema.js';
import type { NodeConfig } from './types.js';
import type { ResolveContext } from './fields.js';

export function resolveNodes(
  ctx: ResolveContext,
  t: TargetInput,
  at: KeyPath,
  host: string,
  vars: Record<string, string>,
): NodeConfig[] | undefined {
  if (!t.nodes) return undefined;
  if (t['balancer-server'] !== undefined) {
    ctx.problems.add(
      [...at, 'balancer-server'],
      'a target with nodes is drained node by node: set balancer-server on each node',
    );
  }
  const seen = new Set<string>();
  const out = t.nodes.map((n, i): NodeConfig => {
    if (seen.has(n.name))
      ctx.problems.add([...at, 'nodes', i, 'name'], `duplicate node ${JSON.stringify(n.name)}`);
    seen.add(n.name);
    const own: Record<string, string> = {};
    for (const [key, value] of Object.entries(n.vars ?? {})) {
      Object.defineProperty(own, key, {
        value: String(value),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    const node: NodeConfig = { name: n.name, host: n.host ?? host, vars: { ...vars, ...own, node: n.name } };
    if (n['balancer-server'] !== undefined) node.balancerServer = n['balancer-server'];
    return node;
  });
  const keys = (n: NodeConfig) => Object.keys(n.vars).sort().join(',');
  out.forEach((n, i) => {
    if (keys(n) !== keys(out[0]!)) {
      ctx.problems.add(
        [...at, 'nodes', i, 'vars'],
        `expected the same vars as node ${out[0]!.name} (${keys(out[0]!)})`,
      );
    }
  });
  return out;
}
