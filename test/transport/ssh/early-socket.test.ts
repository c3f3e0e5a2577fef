/**
 * The TCP connection to the host is opened before ssh2 is loaded (early-socket.ts), so the
 * host starts its side while the client loads; ssh2 then takes that socket: one connection,
 * not two. ssh2's load is made slow here (300 ms), and synchronous as the real one is (import()
 * of CommonJS files holds this thread): the kernel's table of TCP connections, read as the load
 * starts, tells whether the connect was asked before it. A counting TCP relay in front of a real
 * sshd sees how often the client connects (its port is not in known-hosts: host keys are not
 * checked here).
 */
import { readFileSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { SshTransport } from '../../../src/transport/ssh/ssh-transport.js';
import { startSshd, type Sshd } from '../../helpers/sshd.js';

const LOAD_MS = 300;
/** Per load: whether a connection to the relay's port was in the kernel's table as it began. */
const loaded: boolean[] = [];
let relayPort = 0;
vi.mock('../../../src/transport/ssh/connect.js', async (importOriginal) => {
  const original = await importOriginal<typeof import('../../../src/transport/ssh/connect.js')>();
  return {
    ...original,
    loadSsh2: () => {
      loaded.push(dialling(relayPort));
      const end = Date.now() + LOAD_MS;
      while (Date.now() < end); // this thread held, as by the real load
      return original.loadSsh2();
    },
  };
});

/** Whether a TCP connection to 127.0.0.1:`port` is being made or made (Linux: /proc/net/tcp). */
function dialling(port: number): boolean {
  const remote = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  return readFileSync('/proc/net/tcp', 'utf8')
    .split('\n')
    .slice(1)
    .some((line) => line.trim().split(/\s+/)[2] === remote);
}

let sshd: Sshd;
let base: string;
beforeAll(async () => {
  sshd = await startSshd();
  base = await fs.mkdtemp(path.join(os.tmpdir(), 'diffship-early-socket-'));
});
afterAll(async () => {
  await sshd?.stop();
  await fs.rm(base, { recursive: true, force: true });
});

/** A TCP relay to sshd that notes when each connection is accepted. */
async function relay(): Promise<{ port: number; accepted: number[]; close(): Promise<void> }> {
  const accepted: number[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    accepted.push(Date.now());
    const upstream = net.connect(sshd.port, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => sockets.delete(s));
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    port: (server.address() as net.AddressInfo).port,
    accepted,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

describe('the TCP connection to the host', () => {
  it('is open before ssh2 has loaded, and is the one ssh2 uses', async () => {
    const r = await relay();
    const root = await fs.mkdtemp(path.join(base, 't-'));
    const t = new SshTransport(sshd.sshOptions({ port: r.port, strictHostKey: false }), root);
    try {
      loaded.length = 0;
      relayPort = r.port;
      await t.connect();
      await t.writeFile('f', Buffer.from('x'), 0o644);
      expect(await fs.readFile(path.join(root, 'f'), 'utf8')).toBe('x');
      expect(r.accepted).toHaveLength(1);
      // Connecting as ssh2's load began (before: only once it had ended, or not at all).
      expect(loaded).toEqual([true]);
    } finally {
      await t.close();
      await r.close();
    }
  });
});
