/**
 * SSH-only behaviour against a real OpenSSH server: host keys, credentials,
 * secrets, proxy jumps, dropped connections, the hashing strategies.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs/promises';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SshOptions } from '../../../src/config/types.js';
import type { DiffshipError } from '../../../src/errors.js';
import type { Logger } from '../../../src/log.js';
import { createTransport } from '../../../src/transport/factory.js';
import { LocalTransport } from '../../../src/transport/local/local-transport.js';
import { SshTransport } from '../../../src/transport/ssh/ssh-transport.js';
import type { SshTuning } from '../../../src/transport/ssh/tuning.js';
import { startSshd, type Sshd } from '../../helpers/sshd.js';
import { gitHashBytes, gitHashObject } from '../conformance.js';
import { PROMPTLY_MS } from '../../helpers/timing.js';

let sshd: Sshd;
let work: string;
const open: SshTransport[] = [];

beforeAll(async () => {
  sshd = await startSshd({ hostKeyTypes: ['ed25519', 'ecdsa'] });
  work = await fs.mkdtemp(path.join(os.tmpdir(), 'diffship-ssh-'));
});
afterAll(async () => {
  await Promise.all(open.map((t) => t.close()));
  await sshd?.stop();
  await fs.rm(work, { recursive: true, force: true });
});

let folders = 0;
async function folder(): Promise<string> {
  const dir = path.join(work, `f${folders++}`);
  await fs.mkdir(dir);
  return dir;
}

function transport(
  overrides: Partial<SshOptions> = {},
  root = work,
  log?: Logger,
  tuning?: SshTuning,
): SshTransport {
  const t = new SshTransport(sshd.sshOptions(overrides), root, log, tuning);
  open.push(t);
  return t;
}

async function connectError(t: SshTransport, options?: { create?: boolean }): Promise<DiffshipError> {
  const error = (await t.connect(options).then(
    () => {
      throw new Error('connect() should have failed');
    },
    (e: unknown) => e,
  )) as DiffshipError;
  expect(error.code, error.message).toBe('E_CONNECT');
  return error;
}

function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const push = (m: string) => void lines.push(m);
  return { lines, debug: push, info: push, warn: push, error: push };
}

function keyLines(key: string): string[] {
  return key.split('\n').filter((l) => l.length >= 20 && !l.startsWith('-----'));
}

async function keygen(
  name: string,
  args: string[] = [],
): Promise<{ file: string; text: string; pub: string }> {
  const file = path.join(work, name);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', ...args, '-f', file]);
  return {
    file,
    text: await fs.readFile(file, 'utf8'),
    pub: (await fs.readFile(`${file}.pub`, 'utf8')).trim(),
  };
}

describe('host keys', () => {
  const first = () => sshd.hostKeys[0]!;

  it('refuses an unknown host before anything is written, naming the offered key and the fix', async () => {
    const root = path.join(work, 'never-created');
    const error = await connectError(transport({ knownHosts: '' }, root), { create: true });
    expect(error.message).toContain(`[127.0.0.1]:${sshd.port} is not in known-hosts`);
    expect(error.message).toContain(`ssh-ed25519 ${first().fingerprint}`);
    expect(error.message).toContain(`ssh-keyscan -p ${sshd.port} 127.0.0.1`);
    await expect(fs.stat(root)).rejects.toThrow();
  });

  it('refuses a changed key, saying it does not match', async () => {
    const other = await keygen('other-host-key');
    const [type, base64] = other.pub.split(' ');
    const error = await connectError(transport({ knownHosts: `[127.0.0.1]:${sshd.port} ${type} ${base64}` }));
    expect(error.message).toContain('does not match known-hosts');
    expect(error.message).toContain(first().fingerprint);
  });

  it('refuses a plain host entry for a non-22 port (OpenSSH needs [host]:port there)', async () => {
    const error = await connectError(
      transport({ knownHosts: `127.0.0.1 ${first().keyType} ${first().base64}` }),
    );
    expect(error.message).toContain('is not in known-hosts');
  });

  it('refuses a key marked @revoked', async () => {
    const knownHosts = `${first().knownHostsLine}\n@revoked * ${first().keyType} ${first().base64}`;
    const error = await connectError(transport({ knownHosts }));
    expect(error.message).toContain('@revoked');
  });

  it('accepts hashed entries written by ssh-keygen -H', async () => {
    const file = path.join(work, 'known_hosts_hashed');
    await fs.writeFile(file, sshd.hostKeys.map((k) => k.knownHostsLine).join('\n') + '\n');
    execFileSync('ssh-keygen', ['-H', '-f', file], { stdio: 'ignore' });
    const knownHosts = await fs.readFile(file, 'utf8');
    expect(knownHosts).not.toContain('127.0.0.1');
    const t = transport({ knownHosts });
    await t.connect();
    expect((await t.lstat(''))?.type).toBe('dir');
  });

  it('asks the server for the key type known-hosts has (ecdsa only, server prefers ed25519)', async () => {
    const ecdsa = sshd.hostKeys.find((k) => k.type === 'ecdsa')!;
    const t = transport({ knownHosts: ecdsa.knownHostsLine });
    await t.connect();
    expect((await t.exec('echo ok')).stdout).toBe('ok\n');
  });

  it("defaults to OpenSSH's ~/.ssh/known_hosts when known-hosts is not set", async () => {
    const home = await fs.mkdtemp(path.join(os.tmpdir(), 'diffship-home-'));
    const saved = process.env.HOME;
    process.env.HOME = home;
    try {
      const error = await connectError(transport({ knownHosts: undefined }));
      expect(error.message).toContain(`not set, so ${home}/.ssh/known_hosts`);
      await fs.mkdir(path.join(home, '.ssh'));
      await fs.writeFile(path.join(home, '.ssh', 'known_hosts'), `# mine\n${first().knownHostsLine}\n`);
      const t = transport({ knownHosts: undefined });
      await t.connect();
      expect((await t.lstat(''))?.type).toBe('dir');
    } finally {
      process.env.HOME = saved;
      await fs.rm(home, { recursive: true, force: true });
    }
  });

  it('skips the check only with strictHostKey: false', async () => {
    const t = transport({ knownHosts: undefined, strictHostKey: false });
    await t.connect();
    expect((await t.lstat(''))?.type).toBe('dir');
  });
});

describe('credentials and secrets', () => {
  it('authenticates with a passphrase-protected key given as text', async () => {
    const t = transport({
      identityFile: undefined,
      privateKey: sshd.encryptedPrivateKey,
      passphrase: sshd.passphrase,
    });
    await t.connect();
    expect((await t.exec('echo $((6*7))')).stdout).toBe('42\n');
  });

  it('refuses an encrypted key without its passphrase, or with a wrong one, without showing the key', async () => {
    const missing = await connectError(
      transport({ identityFile: undefined, privateKey: sshd.encryptedPrivateKey }),
    );
    expect(missing.message).toContain('passphrase');
    const wrong = await connectError(
      transport({ identityFile: undefined, privateKey: sshd.encryptedPrivateKey, passphrase: 'wrong horse' }),
    );
    for (const e of [missing, wrong]) {
      for (const line of keyLines(sshd.encryptedPrivateKey)) expect(e.message).not.toContain(line);
      expect(e.message).not.toContain('PRIVATE KEY');
    }
    expect(wrong.message).not.toContain('wrong horse');
  });

  it('reports a key the server does not accept as an authentication failure, with no key material anywhere', async () => {
    const stranger = await keygen('stranger');
    const log = recordingLogger();
    const t = transport(
      { identityFile: undefined, privateKey: stranger.text, passphrase: 'not-used-secret' },
      work,
      log,
    );
    const error = await connectError(t);
    expect(error.message).toContain('authentication failed');
    const everything = [
      error.message,
      String((error.cause as Error | undefined)?.message),
      JSON.stringify(error),
      ...log.lines,
    ].join('\n');
    for (const line of keyLines(stranger.text)) expect(everything).not.toContain(line);
    expect(everything).not.toContain('not-used-secret');
  });

  it('names an unreadable identity file', async () => {
    const error = await connectError(transport({ identityFile: path.join(work, 'no-such-key') }));
    expect(error.message).toContain('no-such-key');
    expect(error.message).toContain('ENOENT');
  });

  it('refuses to connect with no credentials at all', async () => {
    const error = await connectError(transport({ identityFile: undefined }));
    expect(error.message).toContain('no credentials');
  });

  it('authenticates through an ssh agent', async () => {
    const agentDir = await fs.mkdtemp(path.join(os.tmpdir(), 'diffship-agent-'));
    const socket = path.join(agentDir, 'agent.sock');
    const out = execFileSync('ssh-agent', ['-a', socket], { encoding: 'utf8' });
    const pid = Number(/SSH_AGENT_PID=(\d+)/.exec(out)?.[1]);
    try {
      execFileSync('ssh-add', [sshd.identityFile], {
        env: { ...process.env, SSH_AUTH_SOCK: socket },
        stdio: 'ignore',
      });
      const t = transport({ identityFile: undefined, agent: socket });
      await t.connect();
      expect((await t.exec('echo agent')).stdout).toBe('agent\n');
    } finally {
      process.kill(pid, 'SIGTERM');
      await fs.rm(agentDir, { recursive: true, force: true });
    }
  });

  it('logs no secret while connecting and working', async () => {
    const log = recordingLogger();
    const t = transport(
      { identityFile: undefined, privateKey: sshd.encryptedPrivateKey, passphrase: sshd.passphrase },
      work,
      log,
    );
    await t.connect();
    await t.hashFiles(['nothing-here']);
    await t.close();
    expect(log.lines.length).toBeGreaterThan(0);
    const all = log.lines.join('\n');
    for (const line of keyLines(sshd.encryptedPrivateKey)) expect(all).not.toContain(line);
    expect(all).not.toContain(sshd.passphrase);
  });
});

describe('connection failures', () => {
  it('times out a server that never speaks SSH', async () => {
    const silent = net.createServer(() => {});
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    const port = (silent.address() as net.AddressInfo).port;
    try {
      const started = Date.now();
      const error = await connectError(transport({ port, connectTimeoutMs: 600 }));
      expect(error.message).toContain('no SSH handshake within 600 ms');
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      silent.close();
    }
  });

  it('closed mid-handshake (a host that never speaks), its connect fails at once, not at its timeout', async () => {
    const sockets: net.Socket[] = [];
    // Never reads: a goodbye (FIN) gets no answer either, as from a stalled host.
    const silent = net.createServer((s) => void sockets.push(s.on('error', () => {})));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    const port = (silent.address() as net.AddressInfo).port;
    try {
      const t = transport({ port, connectTimeoutMs: 20_000 });
      const connecting = connectError(t);
      while (sockets.length === 0) await new Promise((r) => setTimeout(r, 20));
      await new Promise((r) => setTimeout(r, 200)); // well into the wait for the host's banner
      const closedAt = Date.now();
      await t.close();
      const error = await connecting;
      // The socket was cut, so the connect is over: not at its 20 s timeout (after close's 2 s grace).
      expect(Date.now() - closedAt).toBeLessThan(1000);
      expect(error.message).toContain('cannot connect');
    } finally {
      for (const s of sockets) s.destroy(); // the host's side, which never read the goodbye
      silent.close();
    }
  });

  it('closed, a connection whose host never closes its side is cut after the grace, not left half-open', async () => {
    // A relay to the real sshd that goes silent when told and never closes its side (a hung sshd).
    const hostSides: net.Socket[] = [];
    let frozen = false;
    const relay = net.createServer({ allowHalfOpen: true }, (client) => {
      hostSides.push(client);
      const server = net.connect(sshd.port, '127.0.0.1');
      client.on('data', (d) => void (frozen || server.write(d)));
      server.on('data', (d) => void (frozen || client.write(d)));
      client.on('error', () => {});
      server.on('error', () => {});
      client.on('close', () => server.destroy());
    });
    await new Promise<void>((r) => relay.listen(0, '127.0.0.1', () => r()));
    const port = (relay.address() as net.AddressInfo).port;
    try {
      const t = transport({ port, strictHostKey: false });
      await t.connect();
      expect((await t.exec('echo up')).stdout).toBe('up\n');
      frozen = true;
      const sockets = () => process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap').length;
      const open = sockets(); // the transport's, and the relay's two
      const closedAt = Date.now();
      await t.close();
      expect(Date.now() - closedAt).toBeLessThan(4000);
      // The goodbye got no answer: after the 2 s grace the transport's socket was cut, not left
      // half-closed (which kept it, and a CLI's process, alive).
      await new Promise((r) => setTimeout(r, 100));
      expect(sockets()).toBe(open - 1);
    } finally {
      for (const s of hostSides) s.destroy();
      relay.close();
    }
  });

  it('says when nothing listens on the port', async () => {
    const closed = net.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', () => r()));
    const port = (closed.address() as net.AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const error = await connectError(transport({ port }));
    expect(error.message).toContain('connection refused');
  });

  it('rejects every pending and later operation promptly when the session dies mid-transfer', async () => {
    const root = await folder();
    const t = transport({}, root);
    await t.connect();
    await t.mkdirp('big');
    const data = Buffer.alloc(256 * 1024, 'x');
    const writes = Array.from({ length: 200 }, (_, i) =>
      t.writeFile(`big/f${i}`, data, 0o644).then(
        () => 'ok',
        (e: DiffshipError) => e,
      ),
    );
    const command = t.exec('sleep 20').then(
      () => 'ok',
      (e: DiffshipError) => e,
    );
    await new Promise((r) => setTimeout(r, 300));
    const killedAt = Date.now();
    await sshd.killSessions();
    const results = await Promise.all([...writes, command]);
    expect(Date.now() - killedAt).toBeLessThan(5000);
    const failures = results.filter((r): r is DiffshipError => r !== 'ok');
    expect(failures.length).toBeGreaterThan(0);
    for (const f of failures) {
      expect(f.code).toBe('E_TRANSPORT');
      expect(f.message).toMatch(/connection to .* lost/);
    }
    expect(results.at(-1)).not.toBe('ok'); // the 20 s command cannot have finished
    const later = Date.now();
    await expect(t.lstat('big')).rejects.toMatchObject({ code: 'E_TRANSPORT' });
    await expect(t.exec('true')).rejects.toMatchObject({ code: 'E_TRANSPORT' });
    expect(Date.now() - later).toBeLessThan(PROMPTLY_MS); // at once, not after a timeout
    // Every file is either complete or absent-or-partial in its own (staging) name: nothing else was touched.
    expect((await fs.readdir(root)).sort()).toEqual(['big']);
  });

  it('notices a server that stops answering through keepalives (no hang)', async () => {
    const t = transport({}, work, undefined, { keepaliveIntervalMs: 200, keepaliveCountMax: 2 });
    await t.connect();
    await t.exec('true');
    // Freeze the session processes: the kernel still accepts bytes, nothing answers.
    const frozen = sshd.sessionPids();
    expect(frozen.length).toBeGreaterThan(0);
    for (const pid of frozen) process.kill(pid, 'SIGSTOP');
    try {
      const started = Date.now();
      await expect(t.readdir('')).rejects.toMatchObject({ code: 'E_TRANSPORT' });
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      for (const pid of frozen) process.kill(pid, 'SIGCONT');
    }
  });

  it('can connect again after a failed attempt', async () => {
    const root = path.join(work, 'later');
    const t = transport({}, root);
    await connectError(t);
    await fs.mkdir(root);
    await t.connect();
    expect(await t.readdir('')).toEqual([]);
  });
});

describe('proxy jump', () => {
  it('reaches the target through a jump host (the same sshd, twice)', async () => {
    const root = await folder();
    const log = recordingLogger();
    const t = transport({ proxyJump: `${sshd.user}@127.0.0.1:${sshd.port}` }, root, log);
    await t.connect();
    await t.writeFile('via-jump', Buffer.from('hop'), 0o644);
    expect(await fs.readFile(path.join(root, 'via-jump'), 'utf8')).toBe('hop');
    expect(log.lines.filter((l) => l.includes('authenticated')).length).toBe(2);
  });

  it('checks the jump host key too', async () => {
    const error = await connectError(transport({ proxyJump: `127.0.0.1:${sshd.port}`, knownHosts: '' }));
    expect(error.message).toContain('jump host');
    expect(error.message).toContain('is not in known-hosts');
  });

  it('says when the jump host cannot reach the target', async () => {
    const closed = net.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', () => r()));
    const port = (closed.address() as net.AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const t = new SshTransport({ ...sshd.sshOptions(), port, proxyJump: `127.0.0.1:${sshd.port}` }, work);
    open.push(t);
    const error = await connectError(t);
    expect(error.message).toContain(`cannot reach 127.0.0.1:${port}`);
  });
});

describe('hashing strategies', () => {
  const strategies: Array<[string, SshTuning]> = [
    ['perl helper', { hashMethod: 'perl' }],
    ['perl script', { hashMethod: 'perl', bulkOps: false }],
    ['sh', { hashMethod: 'sh' }],
    ['sftp', { hashMethod: 'sftp' }],
    ['auto', { hashMethod: 'auto' }],
  ];
  const cases = strategies.flatMap(([name, tuning]) =>
    (['sha1', 'sha256'] as const).map((algorithm) => [name, algorithm, tuning] as const),
  );
  it.each(cases)('%s gives git hash-object ids (%s)', async (_, algorithm, tuning) => {
    const root = await folder();
    const sizes = [0, 1, 4096, 300 * 1024, 1024 * 1024 + 3];
    for (const [i, size] of sizes.entries())
      await fs.writeFile(path.join(root, `f${i} ü`), Buffer.alloc(size, i + 65));
    await fs.symlink('f1 ü', path.join(root, 'link'));
    await fs.mkdir(path.join(root, 'dir'));
    const t = transport({}, root, undefined, tuning);
    await t.connect();
    const names = sizes.map((_, i) => `f${i} ü`);
    const ids = await t.hashFiles([...names, 'link', 'dir', 'missing'], { algorithm });
    for (const n of names) expect(ids.get(n), n).toBe(gitHashObject(path.join(root, n), algorithm));
    expect(ids.get('link')).toBe(gitHashBytes('f1 ü', algorithm));
    expect(ids.get('dir')).toBeNull();
    expect(ids.get('missing')).toBeNull();
  });
});

describe('a host with sha1sum but no sha256sum, and no perl', () => {
  let bare: Sshd;
  let bin: string;
  beforeAll(async () => {
    // Sessions get a PATH holding only sh, cat and sha1sum: what the probe finds is all there is.
    bin = await fs.mkdtemp(path.join(os.tmpdir(), 'diffship-bin-'));
    for (const tool of ['sh', 'cat', 'sha1sum']) {
      const where = execFileSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).trim();
      await fs.symlink(where, path.join(bin, tool));
    }
    bare = await startSshd({ config: [`SetEnv PATH=${bin}`] });
  });
  afterAll(async () => {
    await bare?.stop();
    await fs.rm(bin, { recursive: true, force: true });
  });

  it('hashes sha1 with sha1sum on the host, and sha256 by reading the files over SFTP', async () => {
    const root = await folder();
    // Above the size that sh would hash on the host, were it used.
    await fs.writeFile(path.join(root, 'big'), Buffer.alloc(300 * 1024, 'b'));
    await fs.writeFile(path.join(root, 'small'), 'small');
    const log = recordingLogger();
    const t = new SshTransport(bare.sshOptions(), root, log, { hashMethod: 'sh' });
    open.push(t);
    await t.connect();
    const sha256 = await t.hashFiles(['big', 'small'], { algorithm: 'sha256' });
    expect(sha256.get('big')).toBe(gitHashObject(path.join(root, 'big'), 'sha256'));
    expect(sha256.get('small')).toBe(gitHashObject(path.join(root, 'small'), 'sha256'));
    expect(log.lines.join('\n')).toContain('perl=false sha1=sha1sum sha256=none');
    const sha1 = await t.hashFiles(['big', 'small']);
    expect(sha1.get('big')).toBe(gitHashObject(path.join(root, 'big')));
    expect(sha1.get('small')).toBe(gitHashObject(path.join(root, 'small')));
  });
});

describe('an SFTP-only account (ForceCommand internal-sftp)', () => {
  let sftpOnly: Sshd;
  beforeAll(async () => {
    sftpOnly = await startSshd({ config: ['ForceCommand internal-sftp'] });
  });
  afterAll(async () => {
    await sftpOnly?.stop();
  });

  it('still hashes, renames and removes trees, over SFTP alone', async () => {
    const root = await folder();
    await fs.mkdir(path.join(root, 'tree/sub'), { recursive: true });
    await fs.writeFile(path.join(root, 'tree/sub/a'), 'a');
    await fs.writeFile(path.join(root, 'file'), 'content');
    const log = recordingLogger();
    const t = new SshTransport(sftpOnly.sshOptions(), root, log);
    open.push(t);
    await t.connect();
    expect((await t.hashFiles(['file'])).get('file')).toBe(gitHashObject(path.join(root, 'file')));
    expect(log.lines.join('\n')).toContain('exec is not usable');
    await t.writeFile('new', Buffer.from('new'), 0o644, { sync: false });
    await t.syncWritten(); // no `sync -f` without exec: fsync@openssh.com per file
    await t.rename('new', 'file');
    expect(await fs.readFile(path.join(root, 'file'), 'utf8')).toBe('new');
    await t.removeTree('tree');
    expect((await fs.readdir(root)).sort()).toEqual(['file']);
    // A remote hook there would "succeed" doing nothing: it must fail instead.
    await expect(t.exec('touch ran')).rejects.toThrow(/remote commands cannot run on this host/);
    await expect(fs.stat(path.join(root, 'ran'))).rejects.toThrow();
  });
});

describe('createTransport', () => {
  it('makes one transport per target type', async () => {
    const base = { name: 't', path: work, host: 'localhost', labels: [], vars: {}, hooks: { verify: [] } };
    expect(createTransport({ ...base, type: 'local' })).toBeInstanceOf(LocalTransport);
    const ssh = createTransport({ ...base, type: 'ssh', host: '127.0.0.1', ssh: sshd.sshOptions() });
    expect(ssh).toBeInstanceOf(SshTransport);
    expect(ssh.description).toBe(`ssh://${sshd.user}@127.0.0.1:${sshd.port}${work}`);
    expect(() => createTransport({ ...base, type: 'ssh' })).toThrow(/needs host and user/);
  });
});
