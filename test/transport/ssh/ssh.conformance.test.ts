import { afterAll, beforeAll } from 'vitest';
import { SshTransport } from '../../../src/transport/ssh/ssh-transport.js';
import { startSshd, type Sshd } from '../../helpers/sshd.js';
import { describeTransport } from '../conformance.js';

let sshd: Sshd;
beforeAll(async () => {
  sshd = await startSshd();
});
afterAll(async () => {
  await sshd?.stop();
});

describeTransport('ssh', (root) => {
  const transport = new SshTransport(sshd.sshOptions(), root);
  return { transport, close: () => transport.close() };
});
