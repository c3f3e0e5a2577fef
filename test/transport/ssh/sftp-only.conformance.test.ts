/**
 * The transport contract on an SSH host where the file helper does not run
 * (no perl with Digest::SHA: a minimal container): every operation over SFTP
 * and exec alone, with the same guarantees (bulkOps: false).
 */
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

describeTransport('ssh without the file helper', (root) => {
  const transport = new SshTransport(sshd.sshOptions(), root, undefined, { bulkOps: false });
  return { transport, close: () => transport.close() };
});
