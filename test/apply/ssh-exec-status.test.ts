/**
 * Exit statuses of quick remote commands are never lost. A command that ends
 * at once can have its exit status arrive in the same read as the channel's
 * open confirmation; the transport must be listening by then (it once was
 * not: about one quick command in ten came back with exit code null, which
 * failed `rm -rf` of a staging folder and remote hooks at random).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SshTransport } from '../../src/transport/ssh/ssh-transport.js';
import { startSshd, type Sshd } from '../helpers/sshd.js';
import { tempDir } from '../helpers/git.js';
import { rmSync } from 'node:fs';

let sshd: Sshd;
let root: string;
beforeAll(async () => {
  sshd = await startSshd();
  root = tempDir('diffship-exec-status-');
});
afterAll(async () => {
  await sshd?.stop();
  rmSync(root, { recursive: true, force: true });
});

describe('remote commands over ssh', () => {
  it('report the exit code of every quick command, many at once', async () => {
    const t = new SshTransport(sshd.sshOptions(), root);
    await t.connect();
    try {
      const codes = Array.from({ length: 240 }, (_, i) => i % 7);
      // Several connections' worth of channels in flight: the race needs a busy link to show.
      for (let at = 0; at < codes.length; at += 40) {
        const batch = codes.slice(at, at + 40);
        const results = await Promise.all(batch.map((code) => t.exec(`echo out; exit ${code}`)));
        results.forEach((r, i) => {
          expect(r, `command ${at + i}`).toMatchObject({ code: batch[i], signal: null, stdout: 'out\n' });
        });
      }
      // A command killed by a signal says which (once said SIGSIGKILL).
      const killed = await t.exec('kill -KILL $$');
      expect(killed).toMatchObject({ code: null, signal: 'SIGKILL' });
    } finally {
      await t.close();
    }
  });
});
