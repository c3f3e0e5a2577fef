/**
 * A rollout's first git processes wait for its early SSH connections to be at
 * work on their own (early-connect.ts `hostsAtWork`): each git start forks this
 * whole process on the main thread, and forked during a handshake they held up
 * each of its replies. The wait is capped, so a host that never answers costs
 * the release at most the cap. A real sshd, and a TCP server that stays silent.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/config/resolve.js';
import type { Logger } from '../../src/log.js';
import { EarlyConnections } from '../../src/rollout/early-connect.js';
import { tempDir } from '../helpers/git.js';
import { sshTargetConfig, startSshd, type Sshd } from '../helpers/sshd.js';

let sshd: Sshd;
let root: string;
let silent: Server;
const held: Socket[] = [];
beforeAll(async () => {
  root = tempDir('diffship-early-handshake-');
  sshd = await startSshd();
  // Accepts, then never says a word: a handshake that does not end.
  silent = createServer((socket) => held.push(socket));
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
}, 60_000);
afterAll(async () => {
  for (const s of held) s.destroy();
  silent?.close();
  await sshd?.stop();
  rmSync(root, { recursive: true, force: true });
});

/** A logger that keeps every line, debug included. */
function recording(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  const keep = (m: string) => void lines.push(m);
  return { log: { debug: keep, info: keep, warn: keep, error: keep }, lines };
}

const early = (port: number, log: Logger) => {
  const config = resolveConfig(
    { targets: [{ name: 'far', ...sshTargetConfig(sshd, root), port }] },
    { baseDir: root },
  );
  return EarlyConnections.start(config.targets, { config, command: 'deploy', log });
};

describe('the rollout waits for its early SSH hosts before it starts git', () => {
  it('resolves once the host has authenticated this client and been asked for the helper', async () => {
    const { log, lines } = recording();
    const connections = early(sshd.port, log);
    expect(connections.dialling).toBe(true);
    try {
      await connections.hostsAtWork(10_000);
      // Not at the dial's start: the handshake is over by now.
      expect(lines.some((l) => l.startsWith('ssh: authenticated to'))).toBe(true);
    } finally {
      await connections.closeAll();
    }
  }, 30_000);

  it('waits no longer than its cap for a host that never answers', async () => {
    const { log, lines } = recording();
    const port = (silent.address() as { port: number }).port;
    const connections = early(port, log);
    try {
      const started = performance.now();
      await connections.hostsAtWork(200);
      const waited = performance.now() - started;
      expect(waited).toBeGreaterThanOrEqual(190);
      expect(waited).toBeLessThan(5_000);
      expect(lines.some((l) => l.startsWith('ssh: authenticated to'))).toBe(false);
    } finally {
      for (const s of held) s.destroy(); // else the close waits out its grace for the silent peer
      await connections.closeAll();
    }
  }, 30_000);
});
