import { afterAll, beforeAll } from 'vitest';
import { SshTransport } from '../../src/transport/ssh/ssh-transport.js';
import { startSshd, sshTargetFields, type Sshd } from '../helpers/sshd.js';
import { describeEngine } from './conformance.js';

let sshd: Sshd;
beforeAll(async () => {
  sshd = await startSshd();
});
afterAll(async () => {
  await sshd?.stop();
});

// The sshd runs on this machine as this user, so the remote folder is also a local one to inspect.
describeEngine('ssh', (path) => ({
  path,
  transport: () => new SshTransport(sshd.sshOptions(), path),
  targetConfig: () => sshTargetFields(sshd, path).join('\n'),
}));
