/**
 * One real sshd and one temp folder for a whole test file (started before its
 * tests, stopped and removed after), and SshTransports connected through it:
 * the setup the file helper's op tests (scan, look, patch) share.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { startSshd, type Sshd } from './sshd.js';
import { SshTransport } from '../../src/transport/ssh/ssh-transport.js';

export interface SshSuite {
  /** The server, once the suite started. */
  readonly sshd: Sshd;
  /** A folder for the file's targets, once the suite started. */
  readonly base: string;
  /** A transport connected to `root` (bulkOps: through the file helper, the default). */
  open(root: string, bulkOps?: boolean): Promise<SshTransport>;
}

/** Registers the file's beforeAll/afterAll; `prefix` names its temp folder. */
export function sshSuite(prefix: string): SshSuite {
  let sshd: Sshd | undefined;
  let base: string | undefined;
  beforeAll(async () => {
    sshd = await startSshd();
    base = mkdtempSync(join(tmpdir(), `diffship-${prefix}-`));
  }, 60_000);
  afterAll(async () => {
    await sshd?.stop();
    if (base) rmSync(base, { recursive: true, force: true });
  });
  const started = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('the sshd suite has not started (use it inside a test)');
    return value;
  };
  return {
    get sshd() {
      return started(sshd);
    },
    get base() {
      return started(base);
    },
    async open(root, bulkOps = true) {
      const t = new SshTransport(started(sshd).sshOptions(), root, undefined, { bulkOps });
      await t.connect();
      return t;
    },
  };
}
