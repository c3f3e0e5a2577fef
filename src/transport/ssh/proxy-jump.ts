import { ConfigError } from '../../errors.js';

/** One hop of a proxy-jump chain. */
export interface JumpHost {
  /** Undefined: the target's own user. */
  user?: string;
  host: string;
  port: number;
}

/**
 * Parse `proxy-jump` the way OpenSSH's `-J` reads it: a comma list of
 * `[user@]host[:port]` hops, visited in order (IPv6 hosts in brackets:
 * `[::1]:2222`). The `ssh://` form is accepted too.
 *
 * @example parseProxyJump('ops@bastion:2222') // [{ user: 'ops', host: 'bastion', port: 2222 }]
 */
export function parseProxyJump(value: string): JumpHost[] {
  const hops = value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (hops.length === 0) throw bad(value, 'no host given');
  return hops.map((hop) => parseHop(hop, value));
}

function parseHop(hop: string, whole: string): JumpHost {
  let rest = hop.startsWith('ssh://') ? hop.slice('ssh://'.length) : hop;
  let user: string | undefined;
  const at = rest.lastIndexOf('@');
  if (at >= 0) {
    user = rest.slice(0, at);
    rest = rest.slice(at + 1);
    if (user === '') throw bad(whole, `empty user in ${JSON.stringify(hop)}`);
  }
  let host = rest;
  let portText: string | undefined;
  const bracketed = /^\[([^\]]+)\](?::(.*))?$/.exec(rest);
  if (bracketed) {
    host = bracketed[1] ?? '';
    portText = bracketed[2];
  } else if (rest.split(':').length === 2) {
    [host = '', portText] = rest.split(':');
  }
  if (host === '' || /[\s/]/.test(host)) throw bad(whole, `bad host in ${JSON.stringify(hop)}`);
  let port = 22;
  if (portText !== undefined) {
    port = Number(portText);
    if (!/^\d+$/.test(portText) || port < 1 || port > 65535)
      throw bad(whole, `bad port in ${JSON.stringify(hop)}`);
  }
  return user === undefined ? { host, port } : { user, host, port };
}

function bad(value: string, why: string): ConfigError {
  return new ConfigError(
    `proxy-jump ${JSON.stringify(value)}: ${why}; expected [user@]host[:port], comma-separated for several hops`,
  );
}
