/**
 * Issue 10, target side: no write through a link, at any moment. The attacker
 * swaps a folder of the target for a link to an outside folder after apply
 * checked the parents and before it renames into place (deterministically: at
 * the `backup` progress event, between the two), against a real folder, a real
 * sshd with the perl file helper, and a real sshd with SFTP only. And the SFTP
 * fallback never opens an existing link for writing.
 */
import { mkdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { TargetSession } from '../../src/apply/session.js';
import type { DiffshipError } from '../../src/errors.js';
import { LocalTransport } from '../../src/transport/local/local-transport.js';
import { SshTransport } from '../../src/transport/ssh/ssh-transport.js';
import type { Transport } from '../../src/transport/transport.js';
import { exactTree } from '../apply/conformance.js';
import { makeRepo } from '../helpers/repo.js';
import { tempDir } from '../helpers/git.js';
import { startSshd, type Sshd } from '../helpers/sshd.js';

let sshd: Sshd;
let base: string;
let repo: ReturnType<typeof makeRepo>;
let v1: string;
let v2: string;
let counter = 0;
const open: Transport[] = [];

beforeAll(async () => {
  sshd = await startSshd();
  base = tempDir('diffship-sec-nofollow-');
  repo = makeRepo();
  v1 = repo.commit({ 'a/x.json': 'x1\n', 'a/gone.json': 'g\n' });
  v2 = repo.commit({ 'a/x.json': 'x2\n', 'a/new.json': 'n2\n' });
});
afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.close().catch(() => undefined)));
});
afterAll(async () => {
  await sshd?.stop();
  rmSync(base, { recursive: true, force: true });
  repo?.cleanup();
});

function outside(): { dir: string; before: Record<string, string> } {
  const dir = join(base, `outside-${counter++}`);
  mkdirSync(dir);
  writeFileSync(join(dir, 'x.json'), 'not yours\n');
  writeFileSync(join(dir, 'gone.json'), 'not yours\n');
  return { dir, before: exactTree(dir, []) };
}

const transports: Array<[string, (path: string) => Transport]> = [
  ['local', (path) => new LocalTransport(path)],
  ['ssh (perl file helper)', (path) => new SshTransport(sshd.sshOptions(), path)],
  ['ssh (SFTP only)', (path) => new SshTransport(sshd.sshOptions(), path, undefined, { bulkOps: false })],
];

describe.each(transports)('%s', (_kind, makeTransport) => {
  async function deploy(path: string, to: string, onBackup?: () => void) {
    const s = await TargetSession.open({
      transport: makeTransport(path),
      stateDir: '.diffship',
      command: 'deploy',
    });
    try {
      const plan = await s.plan({ repo: repo.dir, to, mode: 'authoritative', onDrift: 'overwrite' });
      return await s.apply(plan, repo.dir, (p) => {
        if (p.phase === 'backup') onBackup?.();
      });
    } finally {
      await s.close();
    }
  }

  it('a folder swapped for a link between the parent check and the rename is refused; nothing outside changes', async () => {
    const t = join(base, `target-${counter++}`);
    const o = outside();
    await deploy(t, v1);
    const error = (await deploy(t, v2, () => {
      renameSync(join(t, 'a'), join(t, 'a.real'));
      symlinkSync(o.dir, join(t, 'a'));
    }).then(
      () => new Error('expected a refusal'),
      (e: unknown) => e,
    )) as DiffshipError;
    expect(error.code).toBe('E_UNSAFE');
    expect(exactTree(o.dir, [])).toEqual(o.before);
    expect(readFileSync(join(t, 'a.real/x.json'), 'utf8')).toBe('x1\n');
  });

  it('writeFile never writes through an existing link at the last component', async () => {
    const t = join(base, `target-${counter++}`);
    const o = outside();
    mkdirSync(t);
    symlinkSync(join(o.dir, 'x.json'), join(t, 'f.json'));
    const transport = makeTransport(t);
    open.push(transport);
    await transport.connect();
    await expect(transport.writeFile('f.json', Buffer.from('pwned\n'), 0o644)).rejects.toMatchObject({
      code: 'E_UNSAFE',
    });
    expect(exactTree(o.dir, [])).toEqual(o.before);
  });

  it('unlink, rmdir, mkdir, symlink and remove below a link are refused by the transport itself', async () => {
    const t = join(base, `target-${counter++}`);
    const o = outside();
    mkdirSync(join(o.dir, 'sub'));
    mkdirSync(t);
    symlinkSync(o.dir, join(t, 'a'));
    const transport = makeTransport(t);
    open.push(transport);
    await transport.connect();
    const before = exactTree(o.dir, []);
    for (const call of [
      () => transport.unlink('a/x.json'),
      () => transport.rmdir('a/sub'),
      () => transport.removeTree('a/sub'),
      () => transport.mkdirp('a/new/deeper'),
      () => transport.symlink('/etc/passwd', 'a/l'),
      () => transport.rename('a/x.json', 'moved.json'),
    ]) {
      await expect(call()).rejects.toMatchObject({ code: 'E_UNSAFE' });
    }
    expect(exactTree(o.dir, [])).toEqual(before);
  });
});
