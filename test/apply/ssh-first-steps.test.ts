/**
 * A connection that fails in its first steps is told as what happened, with
 * what to do next, against a real OpenSSH server each time: the session
 * process killed as the file helper or the SFTP session opens (a dropped connection), sessions
 * refused (MaxSessions 0), and a missing sftp-server (the one case that is
 * about the subsystem).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SshTransport } from '../../src/transport/ssh/ssh-transport.js';
import { sftpOpenError } from '../../src/transport/ssh/errors.js';
import { startSshd, type Sshd } from '../helpers/sshd.js';

const servers: Sshd[] = [];
const root = mkdtempSync(join(tmpdir(), 'diffship-first-steps-'));
afterAll(async () => {
  for (const s of servers) await s.stop();
  rmSync(root, { recursive: true, force: true });
});

async function connectError(
  config: string[],
  tuning: { bulkOps?: boolean } = {},
): Promise<{ code?: string; message: string }> {
  const sshd = await startSshd({ config });
  servers.push(sshd);
  const t = new SshTransport(sshd.sshOptions(), root, undefined, tuning);
  try {
    await t.connect();
  } catch (error) {
    return error as { code?: string; message: string };
  } finally {
    await t.close();
  }
  throw new Error('connect() succeeded');
}

describe('ssh: failures in the first steps', () => {
  it('the connection dropped as the file helper started (the one remote shell of a connect): said so', async () => {
    // Every session runs this: it kills its own sshd session process.
    const e = await connectError(['ForceCommand kill -9 $PPID']);
    expect(e.code).toBe('E_CONNECT');
    expect(e.message).toMatch(
      /connection dropped while starting the file helper.*nothing was written.*run again/,
    );
  });

  it('the connection dropped as the SFTP session opened (no file helper): said so, not "the SFTP subsystem is not available"', async () => {
    // Every session (the sftp subsystem too) runs this: it kills its own sshd session process.
    const e = await connectError(['ForceCommand kill -9 $PPID'], { bulkOps: false });
    expect(e.code).toBe('E_CONNECT');
    expect(e.message).toMatch(
      /connection dropped while opening the SFTP session.*nothing was written.*run again/,
    );
    expect(e.message).not.toMatch(/subsystem is not available/);
  });

  it('sessions refused by the host: said so, with the likely sshd setting', async () => {
    const e = await connectError(['MaxSessions 0']);
    expect(e.code).toBe('E_CONNECT');
    expect(e.message).toMatch(/refused to open a session.*MaxSessions/);
  });

  it('the pure classification: a subsystem the host cannot start is the only "not available"', () => {
    const at = { user: 'u', host: 'h', port: 22 };
    expect(sftpOpenError(at, { message: 'Unable to start subsystem: sftp' }, [], false).message).toMatch(
      /SFTP subsystem is not available .*Subsystem sftp/,
    );
    expect(sftpOpenError(at, { message: 'Unable to start subsystem: sftp' }, [], true).message).toMatch(
      /connection dropped/,
    );
    expect(sftpOpenError(at, { message: 'No response from server' }, [], false).message).toMatch(
      /connection dropped/,
    );
    expect(sftpOpenError(at, { message: 'secret-xyz broke' }, ['secret-xyz'], false).message).not.toContain(
      'secret-xyz',
    );
  });
});
