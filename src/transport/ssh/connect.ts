import { readFile as readLocalFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Duplex } from 'node:stream';
import type { Client as Ssh2Client, ConnectConfig, SFTPWrapper, Stats as SftpStats } from 'ssh2';
import type { SshOptions } from '../../config/types.js';
import { refuseDangerousRoot } from '../dangerous-root.js';
import { TransportError } from '../../errors.js';
import { maskSecrets } from '../../log.js';
import {
  knownKeyTypes,
  parseKnownHosts,
  verifyHostKey,
  type HostKeyVerdict,
  type KnownHostLine,
} from './known-hosts.js';
import type { JumpHost } from './proxy-jump.js';
import type { SshTuning } from './tuning.js';
import type { SshConnection } from './connection.js';
import { cipherKeysAsObjects } from './cipher-keys.js';
import { coalesceWrites } from './coalesce-writes.js';
import { signAtOnce } from './sign-at-once.js';
import { deadline } from './deadline.js';
import { connectError, sftpOpenError, endpointLabel, hostKeyError, type Endpoint } from './errors.js';
import { mkdirAbsolute, NO_SUCH_FILE, sftpCode } from './sftp.js';
import { authMethods, hostKeyAlgorithms, SHA1_OPT_IN, withoutSha1 } from './sha1-policy.js';
import type { Ssh2 } from './ssh2-type.js';

/**
 * Opening the connection of an SshTransport: credentials, known hosts, one
 * authenticated ssh2 client per hop (host key checked first, keepalives on),
 * the SFTP channel, and the target folder.
 */

let ssh2Module: Promise<Ssh2> | undefined;

/**
 * ssh2 (with its crypto setup) costs ~30 ms to load: imported on the first
 * connect, so `import 'diffship'` and local-only deploys never pay for it.
 * Its client, key parser and agent files, not its index: that one also loads
 * its server, key generator and HTTP agents (node:http, https and tls), ~12 ms
 * more of CPU on the way to the handshake (ssh2 is pinned to one version).
 */
export function loadSsh2(): Promise<Ssh2> {
  // CommonJS files: each one's exports object is the namespace's default. The action's
  // one-file bundle keeps them inside (still run lazily); scripts/bundle.mjs gives them __dirname.
  ssh2Module ??= Promise.all([
    import('ssh2/lib/client.js'),
    import('ssh2/lib/agent.js'),
    import('ssh2/lib/protocol/keyParser.js'),
  ]).then(([client, agent, keys]: Array<{ default: unknown }>) => ({
    Client: client!.default as Ssh2['Client'],
    OpenSSHAgent: (agent!.default as Pick<Ssh2, 'OpenSSHAgent'>).OpenSSHAgent,
    utils: { parseKey: (keys!.default as Ssh2['utils']).parseKey },
  }));
  return ssh2Module;
}

type Auth = Pick<ConnectConfig, 'privateKey' | 'passphrase' | 'agent'>;

/** Key text (from private-key or identity-file), passphrase and agent, checked before any connection. */
async function credentials(ssh2: Ssh2, o: SshOptions, conn: SshConnection): Promise<Auth> {
  let key = o.privateKey;
  let source = 'private-key';
  if (!key && o.identityFile) {
    source = `identity-file ${o.identityFile}`;
    try {
      key = await readLocalFile(o.identityFile, 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? String(error);
      throw new TransportError(
        'E_CONNECT',
        `ssh ${endpointLabel(conn.target)}: cannot read identity-file ${o.identityFile} (${code}); check the path`,
      );
    }
    conn.secrets.push(key);
  }
  if (!key && !o.agent) {
    throw new TransportError(
      'E_CONNECT',
      `ssh ${endpointLabel(conn.target)}: no credentials; set identity-file or private-key, or run an ssh agent (SSH_AUTH_SOCK)`,
    );
  }
  if (key) {
    const parsed = ssh2.utils.parseKey(key, o.passphrase);
    if (parsed instanceof Error) {
      const why = maskSecrets(parsed.message, conn.secrets);
      throw new TransportError(
        'E_CONNECT',
        `ssh ${endpointLabel(conn.target)}: the key from ${source} cannot be used: ${why}; check the key${o.passphrase ? ' and its passphrase' : ' (an encrypted key needs passphrase)'}`,
      );
    }
  }
  return { privateKey: key, passphrase: o.passphrase, agent: o.agent };
}

interface KnownHosts {
  lines: KnownHostLine[];
  /** Where the known hosts came from, for messages. */
  source: string;
}

/** known-hosts as given, or else OpenSSH's defaults: ~/.ssh/known_hosts and /etc/ssh/ssh_known_hosts. */
async function loadKnownHosts(o: SshOptions): Promise<KnownHosts> {
  if (o.knownHosts !== undefined) return { lines: parseKnownHosts(o.knownHosts), source: 'known-hosts' };
  const files = [path.join(os.homedir(), '.ssh', 'known_hosts'), '/etc/ssh/ssh_known_hosts'];
  const texts = await Promise.all(files.map((f) => readLocalFile(f, 'utf8').catch(() => '')));
  return {
    lines: parseKnownHosts(texts.join('\n')),
    source: `known-hosts (not set, so ${files.join(' and ')})`,
  };
}

/** What every hop's connection needs. */
export interface DialSettings {
  ssh2: Ssh2;
  auth: Auth;
  knownHosts: KnownHosts;
  options: SshOptions;
  tuning: Pick<SshTuning, 'keepaliveIntervalMs' | 'keepaliveCountMax'>;
}

/** What dial needs, loaded (the key or agent, the known hosts), with ssh2 itself (loadSsh2). */
export async function dialSettings(
  ssh2: Ssh2,
  options: SshOptions,
  conn: SshConnection,
  tuning: DialSettings['tuning'],
): Promise<DialSettings> {
  const auth = await credentials(ssh2, options, conn);
  const knownHosts = await loadKnownHosts(options);
  return { ssh2, auth, knownHosts, options, tuning };
}

/**
 * Connect through the `jumps` (in order) to the target (the caller opens the SFTP channel: openSftp).
 * `first`: a TCP socket to the first hop opened already (early-socket.ts); ssh2 dials where none.
 */
export async function dial(
  conn: SshConnection,
  settings: DialSettings,
  jumps: JumpHost[],
  first?: Duplex,
): Promise<void> {
  let sock: Duplex | undefined = first;
  for (let i = 0; i < jumps.length; i++) {
    const hop = jumps[i]!;
    const endpoint: Endpoint = {
      user: hop.user ?? settings.options.user,
      host: hop.host,
      port: hop.port,
      role: 'jump host',
    };
    const client = await openClient(conn, settings, endpoint, sock);
    const next = jumps[i + 1] ?? conn.target;
    sock = await forward(conn, client, endpoint, next);
  }
  await openClient(conn, settings, conn.target, sock);
}

/** One authenticated SSH connection (the target, or a jump host), host key checked first. */
function openClient(
  conn: SshConnection,
  settings: DialSettings,
  e: Endpoint,
  sock?: Duplex,
): Promise<Ssh2Client> {
  const { options, tuning, knownHosts } = settings;
  const client = new settings.ssh2.Client();
  conn.clients.push(client);
  const strict = options.strictHostKey;
  const timeoutMs = options.connectTimeoutMs > 0 ? options.connectTimeoutMs : 20_000;
  let refused: { verdict: Exclude<HostKeyVerdict, { status: 'trusted' }>; key: Buffer } | undefined;
  // SHA-1 (ssh-rsa, ssh-dss) only when the target opts in, as OpenSSH 8.8+ (sha1-policy.ts).
  const allowSha1 = options.allowSshRsaSha1 === true;
  let sha1Refused = false;
  // Ask for a key type known-hosts has for this host first, as OpenSSH does.
  const preferred = withoutSha1(
    knownKeyTypes(knownHosts.lines, e.host, e.port).flatMap(algorithmsFor),
    allowSha1,
  );
  const config: ConnectConfig = {
    host: e.host,
    port: e.port,
    username: e.user,
    ...settings.auth,
    authHandler: authMethods(settings.ssh2, e.user, settings.auth, allowSha1, () => (sha1Refused = true)),
    sock: sock as ConnectConfig['sock'],
    readyTimeout: timeoutMs,
    keepaliveInterval: tuning.keepaliveIntervalMs ?? 10_000,
    keepaliveCountMax: tuning.keepaliveCountMax ?? 3,
    hostVerifier: (key: Buffer) => {
      if (!strict) return true;
      const verdict = verifyHostKey(knownHosts.lines, e.host, e.port, key);
      if (verdict.status === 'trusted') return true;
      refused = { verdict, key };
      return false;
    },
  };
  const serverHostKey = hostKeyAlgorithms(preferred, allowSha1);
  if (serverHostKey) config.algorithms = { serverHostKey };
  /** The refusal when SHA-1 was what stood in the way, else the usual connect error. */
  const failure = (error: { message: string; level?: string; code?: string }) => {
    if (refused) return hostKeyError(e, refused.verdict, refused.key, knownHosts.source);
    if (!allowSha1 && /no matching host key format/.test(error.message))
      return sha1Error(e, 'offers only SHA-1 host keys (ssh-rsa)');
    if (sha1Refused) return sha1Error(e, 'accepts the key only with a SHA-1 signature (ssh-rsa)');
    return connectError(e, error, conn.secrets, timeoutMs);
  };
  return new Promise<Ssh2Client>((resolve, reject) => {
    let ready = false;
    // A client dropped by teardown() must not fail a later connection.
    const current = () => conn.clients.includes(client);
    client.on('error', (error: Error & { level?: string; code?: string }) => {
      if (!ready) reject(failure(error));
      else if (current()) conn.lose(e, error);
    });
    client.on('close', () => {
      conn.closedClients.add(client);
      if (!ready) reject(failure({ message: 'connection closed during the handshake' }));
      else if (current()) conn.lose(e);
    });
    client.on('ready', () => {
      ready = true;
      conn.readyClients.add(client);
      conn.log.debug(`ssh: authenticated to ${endpointLabel(e)}`);
      resolve(client);
    });
    try {
      client.connect(config);
      // Pipelined SFTP requests are small: without this, Nagle holds each one back until the
      // previous is acknowledged, and with the server's delayed ACKs files crawl at ~40 ms each.
      client.setNoDelay(true);
      coalesceWrites(client);
      cipherKeysAsObjects(client);
      signAtOnce(client);
    } catch (error) {
      reject(connectError(e, error as Error, conn.secrets, timeoutMs));
    }
  });
}

/** A TCP stream from `via` to the next hop, used as the next connection's socket. */
function forward(
  conn: SshConnection,
  via: Ssh2Client,
  viaEndpoint: Endpoint,
  next: { host: string; port: number },
): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    via.forwardOut('127.0.0.1', 0, next.host, next.port, (error, stream) => {
      if (error) {
        const why = maskSecrets(error.message, conn.secrets);
        reject(
          new TransportError(
            'E_CONNECT',
            `ssh ${endpointLabel(viaEndpoint)}: cannot reach ${next.host}:${next.port} through it: ${why}; check AllowTcpForwarding on the jump host`,
          ),
        );
      } else resolve(stream);
    });
  });
}

/** The SFTP channel (sshd starts its subsystem through the login user's shell, as any exec). */
export function openSftp(conn: SshConnection): Promise<SFTPWrapper> {
  return new Promise((resolve, reject) => {
    const client = conn.client;
    // sshd starts sftp-server through the user's shell: a stalled rc file stalls this too.
    const timer = deadline(conn, () => 'the SFTP session to start (sftp-server, run by the login shell)');
    // Dropped meanwhile: told as an SFTP open that failed (E_CONNECT, nothing written); a stall as itself.
    const onLost = (error: Error) =>
      reject(conn.wasStalled ? error : sftpOpenError(conn.target, error, conn.secrets, true));
    conn.pending.add(onLost);
    client.sftp((error, sftp) => {
      timer.done();
      conn.pending.delete(onLost);
      if (error) {
        // The client's close may follow the failed request by a tick: wait for it before judging.
        setImmediate(() => {
          const dropped = conn.lost !== null || conn.closedClients.has(client);
          reject(sftpOpenError(conn.target, error, conn.secrets, dropped));
        });
      } else {
        // The host's sftp-server ended (killed, or its session died) while we still use it.
        const gone = () => conn.sftpGone(sftp);
        sftp.on('end', gone).on('close', gone);
        resolve(sftp);
      }
    });
  });
}

/** Check the root folder (creating it when asked) and resolve it once, symlinks included. */
/**
 * `commandsOnly`: the connection only runs commands (a balancer host), no file is ever
 * written under the root, so `/` is fine there.
 */
export async function resolveRoot(conn: SshConnection, create: boolean, commandsOnly = false): Promise<void> {
  const root = conn.base;
  // Asked together with the stat (SFTP requests are pipelined): one round trip, not three, before
  // the file helper can move into the folder. Their answers count only for a folder that exists.
  const real = conn.call<string>((cb) => conn.sftp.realpath(root, cb));
  const home = commandsOnly ? Promise.resolve(null) : conn.call<string>((cb) => conn.sftp.realpath('.', cb));
  real.catch(() => undefined);
  home.catch(() => undefined);
  let stats = await conn
    .call<SftpStats>((cb) => conn.sftp.stat(root, cb))
    .catch((error: unknown) => {
      if (sftpCode(error) === NO_SUCH_FILE) return null;
      throw connectFailure(conn, `cannot read the target folder ${root}`, error);
    });
  if (stats === null && create) {
    conn.log.debug(`ssh: creating target folder ${root} on ${conn.target.host}`);
    await mkdirAbsolute(conn, root).catch((error: unknown) => {
      throw connectFailure(conn, `cannot create the target folder ${root}`, error);
    });
    stats = await conn.call<SftpStats>((cb) => conn.sftp.stat(root, cb));
  }
  if (stats === null)
    throw new TransportError(
      'E_CONNECT',
      `${conn.description}: target folder ${root} does not exist on the host; create it first`,
      { rootMissing: true },
    );
  if (!stats.isDirectory())
    throw new TransportError('E_CONNECT', `${conn.description}: target path ${root} is not a folder`);
  // A folder made just now: its real path is asked again (the first answer was "no such file").
  const made = await real.catch(() => null);
  conn.base = made ?? (await conn.call<string>((cb) => conn.sftp.realpath(root, cb)));
  // The configured text was checked at load time; on the host a link may still lead to `/` or a
  // home. SFTP starts in the login user's home (from its passwd entry): ask the host for it.
  if (commandsOnly) return;
  const homeDir = await home.catch(() => null);
  refuseDangerousRoot(conn.base, homeDir === null ? [] : [homeDir], conn.description);
}

function connectFailure(conn: SshConnection, what: string, error: unknown): TransportError {
  if (error instanceof TransportError) return error;
  return new TransportError('E_CONNECT', `${conn.description}: ${what}: ${conn.why(error)}`, {
    cause: conn.safeCause(error),
  });
}

/** ssh2 host key algorithm names for a known_hosts key type. */
function algorithmsFor(keyType: string): string[] {
  if (keyType === 'ssh-rsa') return ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'];
  if (keyType === 'ssh-ed25519' || keyType === 'ssh-dss' || keyType.startsWith('ecdsa-sha2-'))
    return [keyType];
  return [];
}

/** One line naming what the server lacks and the opt-in. */
function sha1Error(e: Endpoint, what: string): TransportError {
  return new TransportError(
    'E_CONNECT',
    `ssh ${endpointLabel(e)}: the server ${what}, which diffship refuses by default as OpenSSH 9 does; ` +
      `give the server an ed25519, ecdsa or rsa-sha2-256/512 key, or set ${SHA1_OPT_IN} on this target`,
  );
}

/**
 * A connect that failed only because the target folder is missing keeps its connection (still
 * alive, with the file helper started) for the connect that creates it.
 */
export function keepsConnection(
  error: unknown,
  conn: SshConnection,
  options: { commandsOnly?: boolean },
): boolean {
  return (
    error instanceof TransportError &&
    error.rootMissing &&
    !options.commandsOnly &&
    conn.lost === null &&
    !conn.closing &&
    conn.clients.length > 0
  );
}
