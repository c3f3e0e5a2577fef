/**
 * The deploy engine over an SFTP-only account (`ForceCommand internal-sftp`):
 * no exec, so no file helper, no host-side hashing, no `rm -rf` or `sync -f`;
 * every operation goes over SFTP requests. The same scenarios must hold.
 */
import { afterAll, beforeAll } from 'vitest';
import { SshTransport } from '../../src/transport/ssh/ssh-transport.js';
import { startSshd, sshTargetFields, type Sshd } from '../helpers/sshd.js';
import { describeEngine } from './conformance.js';

let sshd: Sshd;
beforeAll(async () => {
  sshd = await startSshd({ config: ['ForceCommand internal-sftp'] });
});
afterAll(async () => {
  await sshd?.stop();
});

describeEngine(
  'ssh, SFTP only',
  (path) => ({
    path,
    transport: () => new SshTransport(sshd.sshOptions(), path),
    targetConfig: () => sshTargetFields(sshd, path).join('\n'),
  }),
  { crashRounds: 2 },
);
