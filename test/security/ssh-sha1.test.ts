/**
 * Attack: a server (or a man in the middle downgrading it) that offers only
 * SHA-1: an `ssh-rsa` host key signature, or that never announces rsa-sha2
 * (no server-sig-algs, as OpenSSH before 7.2), so ssh2 would sign the user
 * key with SHA-1. Refused by default with one line that names the opt-in, as
 * OpenSSH 9 refuses it; `allow-ssh-rsa-sha1: true` lets the same deploy through.
 *
 * The host key: real CLI against a real OpenSSH sshd. The user signature:
 * OpenSSH 9 always announces rsa-sha2, so it cannot play the old server; ssh2's
 * own server does, with its EXT_INFO switched off, through SshTransport. The
 * key and agent diffship hands ssh2 are also checked directly, with a real key
 * and a real ssh-agent.
 */
import { execFileSync } from 'node:child_process';
import { appendFileSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Report } from '../../src/report/types.js';
import { cli } from '../helpers/cli.js';
import { git, tempDir } from '../helpers/git.js';
import { makeRepo } from '../helpers/repo.js';
import { startSshd, type Sshd } from '../helpers/sshd.js';
import type { ParsedKey } from 'ssh2';
import { sha1RefusingAgent, sha1RefusingKey } from '../../src/transport/ssh/sha1-policy.js';
import { SshTransport } from '../../src/transport/ssh/ssh-transport.js';
import type { AddressInfo } from 'node:net';

let rsaHost: Sshd;
let repo: ReturnType<typeof makeRepo>;
let ws: string;
let rsaKey: string;

beforeAll(async () => {
  ws = tempDir('diffship-sha1-');
  execFileSync('ssh-keygen', [
    '-q',
    '-t',
    'rsa',
    '-b',
    '2048',
    '-N',
    '',
    '-C',
    'rsa-user',
    '-f',
    join(ws, 'id_rsa'),
  ]);
  rsaKey = join(ws, 'id_rsa');
  // A server whose only host key algorithm is ssh-rsa (SHA-1).
  rsaHost = await startSshd({ hostKeyTypes: ['rsa'], config: ['HostKeyAlgorithms ssh-rsa'] });
  repo = makeRepo();
  repo.commit({ 'a.json': 'a\n' });
  git(repo.dir, 'tag', 'v1');
});
afterAll(async () => {
  await rsaHost?.stop();
  repo?.cleanup();
  rmSync(ws, { recursive: true, force: true });
});

let n = 0;
function deploy(sshd: Sshd, identityFile: string, extra: string[] = []) {
  const name = `case${n++}`;
  const target = join(ws, `${name}-target`);
  writeFileSync(join(ws, `${name}.known`), sshd.knownHosts + '\n');
  const config = join(ws, `${name}.yml`);
  writeFileSync(
    config,
    [
      'targets:',
      `  - name: ${name}`,
      '    type: ssh',
      '    host: 127.0.0.1',
      `    port: ${sshd.port}`,
      `    user: ${sshd.user}`,
      `    path: ${JSON.stringify(target)}`,
      `    identity-file: ${JSON.stringify(identityFile)}`,
      `    known-hosts: ${JSON.stringify(join(ws, `${name}.known`))}`,
      ...extra.map((l) => `    ${l}`),
      '',
    ].join('\n'),
  );
  const reportFile = join(ws, `${name}-report.json`);
  const r = cli(ws, ['deploy', '--config', config, '--repo', repo.dir, '--to', 'v1', '--report', reportFile]);
  const report = JSON.parse(readFileSync(reportFile, 'utf8')) as Report;
  return { r, report, target };
}

describe('SHA-1 ssh-rsa is off unless the target opts in', () => {
  it('a server offering only an ssh-rsa host key is refused, naming the opt-in', () => {
    expect(rsaHost.knownHosts).toContain(' ssh-rsa ');
    const { r, report, target } = deploy(rsaHost, rsaHost.identityFile);
    expect(r.code, r.stdout + r.stderr).toBe(2);
    expect(existsSync(target)).toBe(false);
    const error = report.targets[0]!.error!;
    expect(error).toContain('offers only SHA-1 host keys (ssh-rsa)');
    expect(error).toContain('allow-ssh-rsa-sha1: true');
    expect(error.split('\n')).toHaveLength(1);
  });

  it('…and deploys with allow-ssh-rsa-sha1: true', () => {
    const { r, target } = deploy(rsaHost, rsaHost.identityFile, ['allow-ssh-rsa-sha1: true']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(readFileSync(join(target, 'a.json'), 'utf8')).toBe('a\n');
  });

  it('an RSA user key still works with a server that takes rsa-sha2 signatures', async () => {
    const modern = await startSshd();
    try {
      appendFileSync(join(modern.dir, 'authorized_keys'), readFileSync(`${rsaKey}.pub`, 'utf8'));
      const { r } = deploy(modern, rsaKey);
      expect(r.code, r.stdout + r.stderr).toBe(0);
    } finally {
      await modern.stop();
    }
  });
});

describe('the key and the agent diffship hands ssh2 make no SHA-1 signature', () => {
  const data = Buffer.from('session data');

  it('a private key: sha1 (what ssh2 asks for without server-sig-algs) refused, sha2 signs', async () => {
    const ssh2 = (await import('ssh2')).default;
    const parsed = ssh2.utils.parseKey(readFileSync(rsaKey, 'utf8')) as ParsedKey;
    let refused = 0;
    const key = sha1RefusingKey(parsed, () => refused++);
    expect(key.sign(data, 'sha1')).toBeInstanceOf(Error);
    expect(key.sign(data)).toBeInstanceOf(Error);
    expect(refused).toBe(2);
    const signature = key.sign(data, 'sha512');
    expect(Buffer.isBuffer(signature)).toBe(true);
    expect(parsed.verify(data, signature, 'sha512')).toBe(true);
    // The opt-in hands ssh2 the key itself, which signs with SHA-1.
    expect(Buffer.isBuffer(parsed.sign(data, 'sha1'))).toBe(true);
  });

  it('an ssh-agent: sha1 refused before the agent is asked, sha2 signs', async () => {
    const ssh2 = (await import('ssh2')).default;
    const socket = join(ws, 'agent.sock');
    const agentOut = execFileSync('ssh-agent', ['-a', socket], { encoding: 'utf8' });
    const pid = Number(/SSH_AGENT_PID=(\d+)/.exec(agentOut)![1]);
    try {
      execFileSync('ssh-add', [rsaKey], { env: { ...process.env, SSH_AUTH_SOCK: socket }, stdio: 'ignore' });
      let refused = 0;
      const agent = sha1RefusingAgent(ssh2, socket, () => refused++);
      const keys = await new Promise<ParsedKey[]>((resolve, reject) =>
        agent.getIdentities((err, list) => (err ? reject(err) : resolve(list as ParsedKey[]))),
      );
      const pub = keys.find((k) => k.type === 'ssh-rsa')!;
      const sign = (hash: string) =>
        new Promise<Buffer | Error>((resolve) =>
          agent.sign(pub, data, { hash } as never, (err, sig) => resolve(err ?? sig!)),
        );
      expect(await sign('sha1')).toBeInstanceOf(Error);
      expect(refused).toBe(1);
      const sig = await sign('sha256');
      expect(Buffer.isBuffer(sig)).toBe(true);
      expect(pub.verify(data, sig as Buffer, 'sha256')).toBe(true);
    } finally {
      process.kill(pid);
    }
  });
});

/**
 * An SSH server like OpenSSH before 7.2: no EXT_INFO, so no server-sig-algs,
 * and ssh2 signs an RSA user key with SHA-1 unless diffship stops it. ssh2's
 * own server, with its EXT_INFO switched off; it records each signature it
 * gets (algorithm, hash, whether it verifies) and accepts a valid one.
 */
async function oldServer(authorized: string) {
  const ssh2 = (await import('ssh2')).default;
  if (!existsSync(join(ws, 'old_host')))
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(ws, 'old_host')]);
  const allowed = ssh2.utils.parseKey(readFileSync(authorized, 'utf8')) as ParsedKey;
  const signatures: Array<{ algo: string; valid: boolean; sha1: boolean }> = [];
  const server = new ssh2.Server({ hostKeys: [readFileSync(join(ws, 'old_host'))] }, (client) => {
    // No ext-info: whatever the client asks, this server never sends server-sig-algs.
    const proto = (client as unknown as { _protocol: Record<string, unknown> })._protocol;
    let kex: unknown;
    Object.defineProperty(proto, '_kex', {
      configurable: true,
      get: () => kex,
      set: (value: Record<string, unknown> | undefined) => {
        if (value) Object.defineProperty(value, 'remoteExtInfoEnabled', { get: () => false, set: () => {} });
        kex = value;
      },
    });
    client.on('authentication', (ctx) => {
      if (ctx.method !== 'publickey' || !ctx.key.data.equals(allowed.getPublicSSH())) return ctx.reject();
      if (!ctx.signature) return ctx.accept(); // the query: would this key do?
      const valid = allowed.verify(ctx.blob!, ctx.signature, ctx.hashAlgo);
      // ssh2's server leaves hashAlgo unset for ssh-rsa, which means SHA-1: check that directly too.
      signatures.push({ algo: ctx.key.algo, valid, sha1: allowed.verify(ctx.blob!, ctx.signature, 'sha1') });
      return valid ? ctx.accept() : ctx.reject();
    });
    client.on('ready', () => client.end());
    client.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const hostPub = readFileSync(join(ws, 'old_host.pub'), 'utf8').split(' ');
  return {
    port,
    signatures,
    knownHosts: `[127.0.0.1]:${port} ${hostPub[0]} ${hostPub[1]}\n`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('a server without server-sig-algs (OpenSSH < 7.2) gets no SHA-1 user signature by default', () => {
  const options = (port: number, knownHosts: string, allow: boolean) => ({
    host: '127.0.0.1',
    port,
    user: 'deploy',
    privateKey: readFileSync(rsaKey, 'utf8'),
    knownHosts,
    strictHostKey: true,
    connectTimeoutMs: 10_000,
    ...(allow ? { allowSshRsaSha1: true } : {}),
  });

  it('refused with the opt-in named, and the server never saw a signature', async () => {
    const old = await oldServer(`${rsaKey}.pub`);
    try {
      const t = new SshTransport(options(old.port, old.knownHosts, false), '/tmp');
      const error = await t.connect().then(
        () => null,
        (e: Error) => e,
      );
      await t.close().catch(() => {});
      expect(error?.message).toContain('accepts the key only with a SHA-1 signature (ssh-rsa)');
      expect(error?.message).toContain('allow-ssh-rsa-sha1: true');
      expect(old.signatures).toEqual([]);
    } finally {
      await old.close();
    }
  });

  it('with allow-ssh-rsa-sha1: true the key signs with SHA-1 and the server accepts it', async () => {
    const old = await oldServer(`${rsaKey}.pub`);
    try {
      const t = new SshTransport(options(old.port, old.knownHosts, true), '/tmp');
      await t.connect().catch(() => {}); // authenticates, then the server hangs up (no SFTP)
      await t.close().catch(() => {});
      expect(old.signatures).toEqual([{ algo: 'ssh-rsa', valid: true, sha1: true }]);
    } finally {
      await old.close();
    }
  });
});
