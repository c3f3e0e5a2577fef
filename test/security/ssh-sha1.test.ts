/**
 * Attack: a server (or a man in the middle downgrading it) that offers only
 * SHA-1: an `ssh-rsa` host key signature, or that never announces rsa-sha2
 * (no server-sig-algs, as OpenSSH before 7.2), so ssh2 would sign the user
 * key with SHA-1. Refused by default with one line that names the opt-in, as
 * OpenSSH 9 refuses it; `allow-ssh-rsa-sha1: true` lets the same deploy through.
 *
 * The host key: real CLI against a real OpenSSH sshd. The user signature:
 * OpenSSH 9 always announces rsa-sha2, so no real sshd makes ssh2 sign with
 * SHA-1; the key and agent diffship hands ssh2 are checked directly, with a
 * real key and a real ssh-agent, for the hash ssh2 asks for in that case.
 */
import { execFileSync } from 'node:child_process';
import { appendFileSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Report } from '../../src/report/types.js';
import { cli } from '../helpers/cli.js';
import { git, makeRepo, tempDir } from '../helpers/repo.js';
import { startSshd, type Sshd } from '../helpers/sshd.js';
import type { ParsedKey } from 'ssh2';
import { sha1RefusingAgent, sha1RefusingKey } from '../../src/transport/ssh/sha1-policy.js';

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
