/**
 * An SSH target that must not be trusted, or that does not trust us, through
 * the real CLI and a real OpenSSH server: a changed host key, an unknown host,
 * a client key the server refuses, a key that cannot be used. Each exits 2
 * before anything is written (the target folder is not even created), says
 * what was offered and how to fix it, and shows no key material anywhere.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Report } from '../../src/report/types.js';
import { cli } from '../helpers/cli.js';
import { makeRepo } from '../helpers/repo.js';
import { git, tempDir } from '../helpers/git.js';
import { startSshd, type Sshd } from '../helpers/sshd.js';

let sshd: Sshd;
let repo: ReturnType<typeof makeRepo>;
let ws: string;
/** A second key pair of each kind, made here: never authorized, never a host key of the sshd. */
let strangerKey: string;
let strangerPub: string;

beforeAll(async () => {
  sshd = await startSshd();
  repo = makeRepo();
  repo.commit({ 'a.json': 'a\n', 'sub/b.json': 'b\n' });
  git(repo.dir, 'tag', 'v1');
  ws = tempDir('diffship-ssh-keys-');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'stranger', '-f', join(ws, 'stranger')]);
  strangerKey = readFileSync(join(ws, 'stranger'), 'utf8');
  strangerPub = readFileSync(join(ws, 'stranger.pub'), 'utf8').trim();
});
afterAll(async () => {
  await sshd?.stop();
  repo?.cleanup();
  rmSync(ws, { recursive: true, force: true });
});

/** The base64 body lines of a private key: none of them may appear in any output. */
const keyLines = (key: string) => key.split('\n').filter((l) => l.length >= 16 && !l.startsWith('-----'));

let n = 0;
/** Deploy v1 to one ssh target with these extra keys; returns the result, the report and the target folder. */
function deployWith(keys: Record<string, string>) {
  const name = `case${n++}`;
  const target = join(ws, `${name}-target`);
  const lines = [
    'targets:',
    `  - name: ${name}`,
    '    type: ssh',
    '    host: 127.0.0.1',
    `    port: ${sshd.port}`,
    `    user: ${sshd.user}`,
    `    path: ${JSON.stringify(target)}`,
    ...Object.entries(keys).map(([k, v]) => `    ${k}: ${v}`),
    '',
  ];
  const config = join(ws, `${name}.yml`);
  writeFileSync(config, lines.join('\n'));
  const reportFile = join(ws, `${name}-report.json`);
  const r = cli(ws, ['deploy', '--config', config, '--repo', repo.dir, '--to', 'v1', '--report', reportFile]);
  const report = JSON.parse(readFileSync(reportFile, 'utf8')) as Report;
  return { r, report, target, output: `${r.stdout}\n${r.stderr}\n${readFileSync(reportFile, 'utf8')}` };
}

const knownHostsFile = (name: string, text: string) => {
  const file = join(ws, name);
  writeFileSync(file, text);
  return JSON.stringify(file);
};

describe('ssh targets that must not be trusted', () => {
  it('a changed host key: exit 2, nothing written, the offered fingerprint and the fix named', () => {
    const [, type, blob] = `x ${strangerPub}`.split(' ');
    const { r, report, target, output } = deployWith({
      'identity-file': JSON.stringify(sshd.identityFile),
      'known-hosts': knownHostsFile('changed', `[127.0.0.1]:${sshd.port} ${type} ${blob}\n`),
    });
    expect(r.code, output).toBe(2);
    expect(existsSync(target)).toBe(false);
    expect(report.status).toBe('failed');
    expect(report.targets[0]).toMatchObject({ status: 'failed', bytes: 0 });
    const error = report.targets[0]!.error!;
    expect(error).toContain(`host key of [127.0.0.1]:${sshd.port} does not match`);
    expect(error).toContain(`it offered ssh-ed25519 ${sshd.hostKeyFingerprint}`);
    expect(error).toContain(`ssh-keyscan -p ${sshd.port} 127.0.0.1`);
    expect(r.stdout + r.stderr).toContain(sshd.hostKeyFingerprint);
  });

  it('an unknown host: exit 2, nothing written, the offered fingerprint and how to trust it', () => {
    const { r, report, target, output } = deployWith({
      'identity-file': JSON.stringify(sshd.identityFile),
      // Only another host (and the right key for a different port) are known.
      'known-hosts': knownHostsFile(
        'unknown',
        `other.example ${sshd.hostKeys[0]!.keyType} ${sshd.hostKeys[0]!.base64}\n[127.0.0.1]:${sshd.port + 1} ${sshd.hostKeys[0]!.keyType} ${sshd.hostKeys[0]!.base64}\n`,
      ),
    });
    expect(r.code, output).toBe(2);
    expect(existsSync(target)).toBe(false);
    const error = report.targets[0]!.error!;
    expect(error).toContain(`host [127.0.0.1]:${sshd.port} is not in known-hosts`);
    expect(error).toContain(`it offered ssh-ed25519 ${sshd.hostKeyFingerprint}`);
    expect(error).toMatch(
      new RegExp(`add the output of \`ssh-keyscan -p ${sshd.port} 127\\.0\\.0\\.1\` to known-hosts`),
    );
  });

  it('the same config with the right known-hosts deploys (the cases above failed for their key alone)', () => {
    const { r, target, output } = deployWith({
      'identity-file': JSON.stringify(sshd.identityFile),
      'known-hosts': knownHostsFile('right', `${sshd.knownHosts}\n`),
    });
    expect(r.code, output).toBe(0);
    expect(readFileSync(join(target, 'sub/b.json'), 'utf8')).toBe('b\n');
  });
});

describe('client keys the server does not take', () => {
  it('a key not in authorized_keys: exit 2, nothing written, no key material in any output', () => {
    const { r, report, target, output } = deployWith({
      'identity-file': JSON.stringify(join(ws, 'stranger')),
      'known-hosts': knownHostsFile('ok1', `${sshd.knownHosts}\n`),
      agent: 'false',
    });
    expect(r.code, output).toBe(2);
    expect(existsSync(target)).toBe(false);
    expect(report.targets[0]!.error).toMatch(/authentication failed .*check identity-file or private-key/);
    for (const line of keyLines(strangerKey)) expect(output).not.toContain(line);
  });

  it('key text given inline (private-key) that is not a usable key: exit 2, its text never shown', () => {
    // A real key with its body cut: it looks like a key, parses as none.
    const lines = strangerKey.trim().split('\n');
    const broken = [...lines.slice(0, 2), ...lines.slice(3)].join('\n');
    process.env.DIFFSHIP_TEST_BROKEN_KEY = broken;
    try {
      const { r, report, target, output } = deployWith({
        'private-key': '${DIFFSHIP_TEST_BROKEN_KEY}',
        'known-hosts': knownHostsFile('ok2', `${sshd.knownHosts}\n`),
        agent: 'false',
      });
      expect(r.code, output).toBe(2);
      expect(existsSync(target)).toBe(false);
      expect(report.targets[0]!.error).toMatch(/the key from private-key cannot be used/);
      for (const line of keyLines(broken)) expect(output).not.toContain(line);
    } finally {
      delete process.env.DIFFSHIP_TEST_BROKEN_KEY;
    }
  });

  it('an encrypted key without its passphrase: exit 2, says a passphrase is needed', () => {
    const { r, report, target, output } = deployWith({
      'identity-file': JSON.stringify(sshd.encryptedKeyFile),
      'known-hosts': knownHostsFile('ok3', `${sshd.knownHosts}\n`),
      agent: 'false',
    });
    expect(r.code, output).toBe(2);
    expect(existsSync(target)).toBe(false);
    expect(report.targets[0]!.error).toMatch(/passphrase/);
    for (const line of keyLines(sshd.encryptedPrivateKey)) expect(output).not.toContain(line);
  });
});
