/**
 * Issue 10, target side: the dangerous-root check (`/`, home folders and what
 * holds them) runs on the folder as it resolves on the host, not only on the
 * configured text. A target path that is a link to the home folder (or to `/`)
 * passes the load-time check; connect must refuse it before anything is written.
 */
import { mkdirSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TargetSession } from '../../src/apply/session.js';
import type { DiffshipError } from '../../src/errors.js';
import { LocalTransport } from '../../src/transport/local/local-transport.js';
import { SshTransport } from '../../src/transport/ssh/ssh-transport.js';
import type { Transport } from '../../src/transport/transport.js';
import { tempDir } from '../helpers/git.js';
import { startSshd, type Sshd } from '../helpers/sshd.js';

let sshd: Sshd;
let base: string;

beforeAll(async () => {
  sshd = await startSshd();
  base = tempDir('diffship-sec-root-');
});
afterAll(async () => {
  await sshd?.stop();
  rmSync(base, { recursive: true, force: true });
});

async function opening(transport: Transport): Promise<DiffshipError> {
  return (await TargetSession.open({ transport, stateDir: '.diffship', command: 'deploy' }).then(
    async (s) => {
      await s.close();
      return new Error('expected a refusal');
    },
    (e: unknown) => e,
  )) as DiffshipError;
}

describe('local target', () => {
  it('refuses a target path that is a link to the home folder, or to a folder holding it', async () => {
    const home = join(base, 'users/me');
    mkdirSync(home, { recursive: true });
    const saved = process.env.HOME;
    process.env.HOME = home; // os.homedir() reads it
    try {
      symlinkSync(home, join(base, 'site'));
      let error = await opening(new LocalTransport(join(base, 'site')));
      expect(error.code).toBe('E_UNSAFE');
      expect(error.message).toContain('home folder');
      symlinkSync(join(base, 'users'), join(base, 'site2'));
      error = await opening(new LocalTransport(join(base, 'site2')));
      expect(error.code).toBe('E_UNSAFE');
      expect(error.message).toContain('holds home folders');
      expect(readdirSync(home)).toEqual([]);
      expect(readdirSync(join(base, 'users'))).toEqual(['me']);
    } finally {
      process.env.HOME = saved;
    }
  });

  it('refuses a target path that is a link to /', async () => {
    symlinkSync('/', join(base, 'root-link'));
    const error = await opening(new LocalTransport(join(base, 'root-link')));
    expect(error.code).toBe('E_UNSAFE');
    expect(error.message).toContain('filesystem root');
  });
});

describe('ssh target', () => {
  it("refuses a target path that resolves to the login user's home on the host (asked of the host)", async () => {
    // The test sshd logs in as this user; SFTP tells diffship where its home is.
    const home = (await import('node:os')).userInfo().homedir;
    symlinkSync(home, join(base, 'ssh-site'));
    const error = await opening(new SshTransport(sshd.sshOptions(), join(base, 'ssh-site')));
    expect(error.code).toBe('E_UNSAFE');
    expect(error.message).toContain('home folder');
  });

  it('refuses a target path that resolves to / on the host', async () => {
    symlinkSync('/', join(base, 'ssh-root'));
    const error = await opening(new SshTransport(sshd.sshOptions(), join(base, 'ssh-root')));
    expect(error.code).toBe('E_UNSAFE');
    expect(error.message).toContain('filesystem root');
  });
});
