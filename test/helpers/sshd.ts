/**
 * A real OpenSSH server on 127.0.0.1 for tests: its own host keys, its own
 * client keys in authorized_keys, a free port, logging to stderr. Reusable by
 * any test file:
 *
 *   const sshd = await startSshd();
 *   const t = new SshTransport(sshd.sshOptions(), '/tmp/x');
 *   ...
 *   await sshd.stop();
 *
 * Needs /usr/sbin/sshd (Debian: `apt-get install openssh-server`); tests run
 * as root here, so the login user is root and PermitRootLogin is on.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import type { SshOptions } from '../../src/config/types.js';

const run = promisify(execFile);

export const SSHD_BINARY = '/usr/sbin/sshd';
const SFTP_SERVERS = [
  '/usr/lib/openssh/sftp-server',
  '/usr/libexec/openssh/sftp-server',
  '/usr/libexec/sftp-server',
];

type HostKeyType = 'ed25519' | 'ecdsa' | 'rsa';

interface HostKey {
  type: HostKeyType;
  /** e.g. `ssh-ed25519`. */
  keyType: string;
  /** The public key blob, base64. */
  base64: string;
  /** `[127.0.0.1]:port ssh-ed25519 AAAA…` */
  knownHostsLine: string;
  /** `SHA256:…` as OpenSSH prints it. */
  fingerprint: string;
}

export interface SshdOptions {
  /** Host key types, offered in this order (default ed25519 only). */
  hostKeyTypes?: HostKeyType[];
  /** Extra sshd_config lines. */
  config?: string[];
}

export interface Sshd {
  host: '127.0.0.1';
  port: number;
  user: string;
  /** Unencrypted ed25519 client key. */
  identityFile: string;
  privateKey: string;
  /** A second authorized client key, encrypted with `passphrase`. */
  encryptedKeyFile: string;
  encryptedPrivateKey: string;
  passphrase: string;
  /** known_hosts line for the first host key. */
  knownHosts: string;
  hostKeyFingerprint: string;
  hostKeys: HostKey[];
  /** The temp folder holding keys and config (removed by stop()). */
  dir: string;
  /** Resolved ssh settings for this server, strict host key checking on. */
  sshOptions(overrides?: Partial<SshOptions>): SshOptions;
  /** Args for the OpenSSH client (`ssh`, `rsync -e`) against this server. */
  sshArgs(): string[];
  /** Graceful stop: the listener and every session it spawned; removes the temp folder. */
  stop(): Promise<void>;
  /** SIGKILL the server and all its session processes, as if the host died. The temp folder stays. */
  kill(): Promise<void>;
  /** SIGKILL only the per-connection session processes (the listener keeps accepting). */
  killSessions(): Promise<void>;
  /** Pids of the per-connection processes (the listener's children). */
  sessionPids(): number[];
  /** What sshd wrote to stderr so far (LogLevel ERROR unless `config` raises it). */
  serverLog(): string;
}

/** Start an sshd on a free loopback port. Throws (never skips) when sshd is not installed. */
export async function startSshd(options: SshdOptions = {}): Promise<Sshd> {
  if (!existsSync(SSHD_BINARY)) {
    throw new Error(
      `${SSHD_BINARY} not found: the SSH tests need a real OpenSSH server; install it with \`apt-get install openssh-server\``,
    );
  }
  const sftpServer = SFTP_SERVERS.find((p) => existsSync(p)) ?? 'internal-sftp';
  // sshd refuses to start without its privilege separation folder.
  await fs.mkdir('/run/sshd', { recursive: true, mode: 0o755 });
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'diffship-sshd-'));
  const types = options.hostKeyTypes ?? ['ed25519'];
  const keygen = (args: string[]) => run('ssh-keygen', ['-q', ...args]);
  await Promise.all([
    ...types.map((t) => keygen(['-t', t, '-N', '', '-C', `host-${t}`, '-f', path.join(dir, `host_${t}`)])),
    keygen(['-t', 'ed25519', '-N', '', '-C', 'client', '-f', path.join(dir, 'client')]),
    keygen([
      '-t',
      'ed25519',
      '-N',
      'correct horse battery',
      '-C',
      'client-encrypted',
      '-f',
      path.join(dir, 'client_enc'),
    ]),
  ]);
  const user = os.userInfo().username;
  // Sessions get a clean HOME: the login shell then reads no ~/.bashrc of this machine's user
  // (a slow or locked rc file, e.g. pyenv's rehash lock, would stall every exec for a minute).
  await fs.mkdir(path.join(dir, 'home'));
  await fs.writeFile(
    path.join(dir, 'authorized_keys'),
    (await fs.readFile(path.join(dir, 'client.pub'), 'utf8')) +
      (await fs.readFile(path.join(dir, 'client_enc.pub'), 'utf8')),
  );

  let lastError: unknown;
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    // sshd keeps the first value of a keyword, so the caller's lines come first.
    const config = [
      ...(options.config ?? []),
      `SetEnv HOME=${path.join(dir, 'home')}`,
      'ListenAddress 127.0.0.1',
      `Port ${port}`,
      ...types.map((t) => `HostKey ${path.join(dir, `host_${t}`)}`),
      `AuthorizedKeysFile ${path.join(dir, 'authorized_keys')}`,
      `PidFile ${path.join(dir, 'sshd.pid')}`,
      'UsePAM no',
      'StrictModes no',
      'PermitRootLogin yes',
      'PubkeyAuthentication yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'AllowTcpForwarding yes',
      'MaxSessions 64',
      'MaxStartups 64',
      'LogLevel ERROR',
      `Subsystem sftp ${sftpServer}`,
    ];
    await fs.writeFile(path.join(dir, 'sshd_config'), config.join('\n') + '\n');
    const child = spawn(SSHD_BINARY, ['-D', '-e', '-f', path.join(dir, 'sshd_config')], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    try {
      await waitForPort(port, child, () => stderr);
    } catch (error) {
      lastError = error;
      child.kill('SIGKILL');
      continue;
    }
    return await describe(dir, port, user, types, child, () => stderr);
  }
  await fs.rm(dir, { recursive: true, force: true });
  throw lastError;
}

async function describe(
  dir: string,
  port: number,
  user: string,
  types: HostKeyType[],
  child: ChildProcess,
  serverLog: () => string,
): Promise<Sshd> {
  const hostKeys: HostKey[] = types.map((type) => {
    const [keyType = '', base64 = ''] = readFileSync(path.join(dir, `host_${type}.pub`), 'utf8')
      .trim()
      .split(/\s+/);
    const fingerprint = `SHA256:${createHash('sha256').update(Buffer.from(base64, 'base64')).digest('base64').replace(/=+$/, '')}`;
    return { type, keyType, base64, knownHostsLine: `[127.0.0.1]:${port} ${keyType} ${base64}`, fingerprint };
  });
  const first = hostKeys[0]!;
  const identityFile = path.join(dir, 'client');
  const encryptedKeyFile = path.join(dir, 'client_enc');
  const privateKey = await fs.readFile(identityFile, 'utf8');
  const encryptedPrivateKey = await fs.readFile(encryptedKeyFile, 'utf8');
  const knownHostsFile = path.join(dir, 'known_hosts');
  await fs.writeFile(knownHostsFile, hostKeys.map((k) => k.knownHostsLine).join('\n') + '\n');
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let stopped = false;

  const killAll = async () => {
    // Sessions are separate processes (sshd forks and setsid()s per connection): find them by parentage.
    const pids = child.pid === undefined ? [] : [child.pid, ...descendants(child.pid)];
    for (const pid of pids.reverse()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  };

  return {
    host: '127.0.0.1',
    port,
    user,
    identityFile,
    privateKey,
    encryptedKeyFile,
    encryptedPrivateKey,
    passphrase: 'correct horse battery',
    knownHosts: first.knownHostsLine,
    hostKeyFingerprint: first.fingerprint,
    hostKeys,
    dir,
    sshOptions: (overrides = {}) => ({
      host: '127.0.0.1',
      port,
      user,
      identityFile,
      knownHosts: hostKeys.map((k) => k.knownHostsLine).join('\n'),
      strictHostKey: true,
      connectTimeoutMs: 10_000,
      ...overrides,
    }),
    sshArgs: () => [
      '-p',
      String(port),
      '-i',
      identityFile,
      '-o',
      `UserKnownHostsFile=${knownHostsFile}`,
      '-o',
      'StrictHostKeyChecking=yes',
      '-o',
      'BatchMode=yes',
    ],
    async stop() {
      if (!stopped) {
        stopped = true;
        await killAll();
        await Promise.race([exited, new Promise((r) => setTimeout(r, 2000))]);
      }
      await fs.rm(dir, { recursive: true, force: true });
    },
    async kill() {
      stopped = true;
      await killAll();
      await exited;
    },
    serverLog,
    sessionPids: () => (child.pid === undefined ? [] : children(child.pid)),
    async killSessions() {
      if (child.pid === undefined) return;
      for (const pid of descendants(child.pid)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    },
  };
}

/** Direct children of `pid`. */
function children(pid: number): number[] {
  return processTree().get(pid) ?? [];
}

/** All descendants of `pid` (Linux /proc), children before grandchildren. */
function descendants(pid: number): number[] {
  const parents = processTree();
  const out: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    for (const child of parents.get(queue.shift()!) ?? []) {
      out.push(child);
      queue.push(child);
    }
  }
  return out;
}

/** ppid → pids, from /proc. */
function processTree(): Map<number, number[]> {
  const parents = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // Field 4 (ppid) follows the command name, which is in parentheses and may hold spaces.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const list = parents.get(ppid) ?? [];
      list.push(Number(name));
      parents.set(ppid, list);
    } catch {
      // exited while we looked
    }
  }
  return parents;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number, child: ChildProcess, stderr: () => string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`sshd exited with ${child.exitCode}: ${stderr().trim()}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`sshd did not listen on 127.0.0.1:${port} within 10 s: ${stderr().trim()}`);
}

/**
 * One ssh target on `sshd` as config keys (a config object's `targets` entry, less its name):
 * the server's address, its test user and key, and its known_hosts file.
 */
export function sshTargetConfig(sshd: Sshd, targetPath: string) {
  return {
    type: 'ssh' as const,
    host: '127.0.0.1',
    port: sshd.port,
    user: sshd.user,
    path: targetPath,
    'identity-file': sshd.identityFile,
    'known-hosts': path.join(sshd.dir, 'known_hosts'),
  };
}

/** `sshTargetConfig` as YAML lines (not indented); paths quoted. */
export function sshTargetFields(sshd: Sshd, targetPath: string): string[] {
  const quoted = new Set(['path', 'identity-file', 'known-hosts']);
  return Object.entries(sshTargetConfig(sshd, targetPath)).map(
    ([key, value]) => `${key}: ${quoted.has(key) ? JSON.stringify(value) : value}`,
  );
}

/** The YAML lines of one ssh target on `sshd`, indented for a `targets:` list. */
export function sshTargetYaml(sshd: Sshd, targetPath: string, name = 'far'): string[] {
  return [`  - name: ${name}`, ...sshTargetFields(sshd, targetPath).map((line) => `    ${line}`)];
}
