/**
 * An sshd allows a fixed number of sessions per connection (OpenSSH's default
 * MaxSessions is 10) and refuses channels past it. Many remote commands at once
 * must queue for a channel, not fail with "open failed".
 */
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SshTransport } from '../../../src/transport/ssh/ssh-transport.js';
import { startSshd, type Sshd } from '../../helpers/sshd.js';
import { tempDir } from '../../helpers/git.js';

let sshd: Sshd;
let root: string;
beforeAll(async () => {
  // OpenSSH's own default, stated: the test helper otherwise raises it.
  sshd = await startSshd({ config: ['MaxSessions 10'] });
  root = tempDir('diffship-ssh-sessions-');
});
afterAll(async () => {
  await sshd?.stop();
  rmSync(root, { recursive: true, force: true });
});

describe('ssh sessions per connection', () => {
  it('runs 40 commands at once on a server that allows 10 sessions', async () => {
    const t = new SshTransport(sshd.sshOptions(), root);
    await t.connect();
    try {
      const codes = Array.from({ length: 40 }, (_, i) => i % 5);
      // Slow enough that, unqueued, far more than 10 sessions would be open together.
      const results = await Promise.all(codes.map((code) => t.exec(`sleep 0.2; echo ok; exit ${code}`)));
      results.forEach((r, i) => expect(r, `command ${i}`).toMatchObject({ code: codes[i], stdout: 'ok\n' }));
      // Files and hashes still flow while commands run (they use other channels).
      await t.writeFile('a.txt', Buffer.from('a\n'), 0o644);
      const [busy, hashes] = await Promise.all([
        Promise.all(codes.slice(0, 12).map(() => t.exec('sleep 0.1; exit 0'))),
        t.hashFiles(['a.txt']),
      ]);
      expect(busy.every((r) => r.code === 0)).toBe(true);
      expect(hashes.get('a.txt')).toBe('78981922613b2afb6025042ff6bd878ac1994e85');
    } finally {
      await t.close();
    }
  }, 60_000);
});
