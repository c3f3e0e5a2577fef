/**
 * The TCP connection to the host is opened before ssh2 is loaded (early-socket.ts), so the
 * host starts its side while the client loads; ssh2 then takes that socket: one connection,
 * not two. ssh2's load is made slow here (300 ms) to tell the order; a counting TCP relay
 * in front of a real sshd sees when, and how often, the client connects (its port is not in
 * known-hosts: host keys are not checked here).
 */
import * as fs from 'node:fs/promises';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { SshTransport } from '../../../src/transport/ssh/ssh-transport.js';
import { startSshd, type Sshd } from '../../helpers/sshd.js';

const LOAD_MS = 300;
const loaded: number[] = [];
vi.mock('../../../src/transport/ssh/connect.js', async (importOriginal) => {
  const original = await importOriginal<typeof import('../../../src/transport/ssh/connect.js')>();
  return {
    ...original,
    loadSsh2: async () => {
      await new Promise((resolve) => setTimeout(resolve, LOAD_MS));
      loaded.push(Date.now());
      return original.loadSsh2();
    },
  };
});

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
      await t.connect();
      await t.writeFile('f', Buffer.from('x'), 0o644);
      expect(await fs.readFile(path.join(root, 'f'), 'utf8')).toBe('x');
      expect(r.accepted).toHaveLength(1);
      expect(loaded).toHaveLength(1);
      // Accepted while ssh2 was still loading (before: only once it had).
      expect(r.accepted[0]!).toBeLessThan(loaded[0]! - LOAD_MS / 2);
    } finally {
      await t.close();
      await r.close();
    }
  });
});
