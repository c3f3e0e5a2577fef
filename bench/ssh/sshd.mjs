// A real OpenSSH server on 127.0.0.1 for the SSH benchmark: its own host key,
// its own client key in authorized_keys, a free port. A small plain-JS copy of
// test/helpers/sshd.ts (that one is TypeScript, which `node` < 22.18 cannot
// import). Needs /usr/sbin/sshd and the login user root or PermitRootLogin.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const SSHD = '/usr/sbin/sshd';
const SFTP_SERVERS = [
  '/usr/lib/openssh/sftp-server',
  '/usr/libexec/openssh/sftp-server',
  '/usr/libexec/sftp-server',
];

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function portOpen(port) {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * Start sshd; resolves to { port, pid, user, identityFile, knownHostsFile, sshArgs, stop() }.
 * sshArgs are the OpenSSH client options for this server (for `rsync -e`).
 * `slowRcMs`: every remote shell sleeps that long first, as on a host with a heavy rc
 * file: the login user's shell must be bash, which runs ~/.bashrc for every command
 * sshd starts (its stdin is a socket; BASH_ENV is not read then).
 */
export async function startSshd({ slowRcMs = 0 } = {}) {
  if (!existsSync(SSHD)) throw new Error(`${SSHD} not found: install openssh-server`);
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const dir = mkdtempSync(path.join(os.tmpdir(), 'diffship-bench-sshd-'));
  const keygen = (...args) => execFileSync('ssh-keygen', ['-q', ...args]);
  keygen('-t', 'ed25519', '-N', '', '-f', path.join(dir, 'host'));
  keygen('-t', 'ed25519', '-N', '', '-f', path.join(dir, 'client'));
  writeFileSync(path.join(dir, 'authorized_keys'), readFileSync(path.join(dir, 'client.pub')));
  mkdirSync(path.join(dir, 'home'));
  const sftp = SFTP_SERVERS.find((p) => existsSync(p)) ?? 'internal-sftp';
  const port = await freePort();
  if (slowRcMs > 0)
    writeFileSync(path.join(dir, 'home', '.bashrc'), `sleep ${(slowRcMs / 1000).toFixed(3)}\n`);
  writeFileSync(
    path.join(dir, 'sshd_config'),
    [
      // A clean HOME: no shell rc file of this machine slows each exec down (unless slowRcMs asks for one).
      `SetEnv HOME=${path.join(dir, 'home')}`,
      'ListenAddress 127.0.0.1',
      `Port ${port}`,
      `HostKey ${path.join(dir, 'host')}`,
      `AuthorizedKeysFile ${path.join(dir, 'authorized_keys')}`,
      `PidFile ${path.join(dir, 'sshd.pid')}`,
      'UsePAM no',
      'StrictModes no',
      'PermitRootLogin yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'MaxSessions 64',
      'MaxStartups 64',
      'LogLevel ERROR',
      `Subsystem sftp ${sftp}`,
      '',
    ].join('\n'),
  );
  const [type, key] = readFileSync(path.join(dir, 'host.pub'), 'utf8').trim().split(/\s+/);
  const knownHostsFile = path.join(dir, 'known_hosts');
  writeFileSync(knownHostsFile, `[127.0.0.1]:${port} ${type} ${key}\n`);
  const child = spawn(SSHD, ['-D', '-e', '-f', path.join(dir, 'sshd_config')], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const deadline = Date.now() + 10_000;
  while (!(await portOpen(port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`sshd did not start: ${stderr.trim()}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const identityFile = path.join(dir, 'client');
  return {
    port,
    /** sshd's own pid: the sessions it starts are its descendants (kills.mjs stops one). */
    pid: child.pid,
    user: os.userInfo().username,
    identityFile,
    knownHostsFile,
    sshArgs: [
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
    /**
     * Stop sshd, then remove its folder. After sshd has exited: it removes its pid file as it
     * goes, and a removal racing it stopped half way at the vanished file (keys left behind).
     */
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000).unref())]);
      }
      rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
    },
  };
}

/** The config lines of one SSH target `t` at `dir` on this bench's sshd. */
export function sshTargetLines(sshd, dir) {
  return [
    '  - name: t',
    '    type: ssh',
    '    host: 127.0.0.1',
    `    port: ${sshd.port}`,
    `    user: ${sshd.user}`,
    `    path: ${dir}`,
    `    identity-file: ${sshd.identityFile}`,
    `    known-hosts: ${sshd.knownHostsFile}`,
  ];
}

/**
 * `sshd` reached through latency-proxy.mjs (`rttMs` more per round trip) when rttMs > 0: the
 * same object with the proxy's port, known to the known-hosts file, and a stop() that ends the
 * proxy too.
 */
export async function viaLatency(sshd, rttMs) {
  if (!(rttMs > 0)) return sshd;
  const proxy = spawn(
    process.execPath,
    [new URL('./latency-proxy.mjs', import.meta.url).pathname, String(sshd.port), String(rttMs)],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const port = await new Promise((resolve, reject) => {
    proxy.stdout.once('data', (d) => resolve(Number(String(d).trim())));
    proxy.once('exit', (code) => reject(new Error(`latency proxy exited (${code})`)));
  });
  const known = readFileSync(sshd.knownHostsFile, 'utf8');
  writeFileSync(
    sshd.knownHostsFile,
    `${known}${known.replace(`[127.0.0.1]:${sshd.port}`, `[127.0.0.1]:${port}`)}`,
  );
  return {
    ...sshd,
    port,
    sshArgs: sshd.sshArgs.map((a, i) => (sshd.sshArgs[i - 1] === '-p' ? String(port) : a)),
    async stop() {
      proxy.kill();
      await sshd.stop();
    },
  };
}
