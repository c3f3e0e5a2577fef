/**
 * SHA-1 in SSH, off by default as in OpenSSH 8.8+: the `ssh-rsa` host key
 * algorithm (an RSA host key signed with SHA-1) and `ssh-rsa` user signatures,
 * and `ssh-dss` (SHA-1 only). A server that offers nothing better is refused
 * with one line naming the opt-in, `allow-ssh-rsa-sha1: true` on the target.
 *
 * ssh2 offers `ssh-rsa` host keys by default and signs with SHA-1 whenever the
 * server does not announce rsa-sha2-256/512 (server-sig-algs), with no option
 * to stop it; so the key and the agent diffship hands ssh2 refuse to make a
 * SHA-1 signature instead.
 */
import type { Client as Ssh2Client, ConnectConfig, ParsedKey } from 'ssh2';
import type { Ssh2 } from './ssh2-type.js';

/** Host key algorithms that sign with SHA-1. */
const SHA1_HOST_KEY_ALGORITHMS: readonly string[] = ['ssh-rsa', 'ssh-dss'];

/** The opt-in key, as users write it. */
export const SHA1_OPT_IN = 'allow-ssh-rsa-sha1: true';

/** `algorithms` without the SHA-1 ones unless allowed. */
export function withoutSha1(algorithms: readonly string[], allowSha1: boolean): string[] {
  return allowSha1 ? [...algorithms] : algorithms.filter((a) => !SHA1_HOST_KEY_ALGORITHMS.includes(a));
}

type HostKeyList = NonNullable<ConnectConfig['algorithms']>['serverHostKey'];

/**
 * ssh2's `serverHostKey`: the defaults with the SHA-1 ones removed (unless
 * allowed) and `preferred` (what known-hosts has for the host) moved first.
 * Undefined when that is ssh2's default list.
 */
export function hostKeyAlgorithms(preferred: readonly string[], allowSha1: boolean): HostKeyList | undefined {
  const remove = allowSha1 ? [...preferred] : [...preferred, ...SHA1_HOST_KEY_ALGORITHMS];
  if (remove.length === 0) return undefined;
  // Key order matters to ssh2: remove first, then prepend.
  return { remove, prepend: [...preferred] } as unknown as HostKeyList;
}

/** Would a signature with this key and hash be SHA-1 (`ssh-rsa`, `ssh-dss`)? */
function isSha1(keyType: string, hash: string | undefined): boolean {
  if (keyType === 'ssh-dss') return true;
  return keyType === 'ssh-rsa' && (hash === undefined || hash === 'sha1');
}

const REFUSED = 'SHA-1 signature refused';

/**
 * `key` whose `sign` refuses SHA-1, calling `onRefused` instead. ssh2 takes a
 * parsed key as is, so everything else stays the original's.
 */
export function sha1RefusingKey(key: ParsedKey, onRefused: () => void): ParsedKey {
  const wrapped = Object.create(key) as ParsedKey;
  // ssh2 checks for an Error return (its own keys return one when signing fails).
  wrapped.sign = ((data: Buffer, hash?: string) => {
    if (isSha1(key.type, hash)) {
      onRefused();
      return new Error(REFUSED);
    }
    return key.sign(data, hash);
  }) as ParsedKey['sign'];
  return wrapped;
}

/** An OpenSSH agent client on `socket` that refuses SHA-1 signatures, calling `onRefused` instead. */
export function sha1RefusingAgent(
  ssh2: Ssh2,
  socket: string,
  onRefused: () => void,
): InstanceType<Ssh2['OpenSSHAgent']> {
  const agent = new ssh2.OpenSSHAgent(socket);
  const sign = agent.sign.bind(agent) as (...args: unknown[]) => void;
  agent.sign = ((pubKey: ParsedKey, data: Buffer, options: unknown, cb?: unknown) => {
    const callback = (typeof options === 'function' ? options : cb) as (err?: Error) => void;
    const hash = typeof options === 'object' && options ? (options as { hash?: string }).hash : undefined;
    if (isSha1(pubKey.type, hash)) {
      onRefused();
      return callback(new Error(REFUSED));
    }
    return sign(pubKey, data, options, cb);
  }) as typeof agent.sign;
  return agent;
}

/** The auth list for ssh2's `authHandler`: the key, then the agent, each refusing SHA-1 unless allowed. */
export function authMethods(
  ssh2: Ssh2,
  username: string,
  auth: Pick<ConnectConfig, 'privateKey' | 'passphrase' | 'agent'>,
  allowSha1: boolean,
  onRefused: () => void,
): Parameters<Ssh2Client['connect']>[0]['authHandler'] {
  const methods: Array<Record<string, unknown>> = [];
  if (auth.privateKey) {
    const parsed = ssh2.utils.parseKey(auth.privateKey, auth.passphrase);
    const key = Array.isArray(parsed) ? parsed[0] : parsed;
    if (key && !(key instanceof Error))
      methods.push({ type: 'publickey', username, key: allowSha1 ? key : sha1RefusingKey(key, onRefused) });
  }
  if (auth.agent) {
    // diffship gives a socket path; an agent object from library code is used as given.
    const agent =
      allowSha1 || typeof auth.agent !== 'string'
        ? auth.agent
        : sha1RefusingAgent(ssh2, auth.agent, onRefused);
    methods.push({ type: 'agent', username, agent });
  }
  return methods as never;
}
