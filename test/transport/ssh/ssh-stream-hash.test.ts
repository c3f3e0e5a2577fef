/**
 * writeStream with `hash` (issue 13): the SSH file helper hashes a file's
 * bytes as it writes them (a big file streamed, a small one as one record) and
 * answers with their git blob id, so staging need not read the file back
 * (stage.ts). Over SFTP only nothing hashes on the host: writeStream resolves
 * to undefined and the caller hashes the file. A deploy through the helper
 * verifies its files without hashFiles, and still fails with E_VERIFY when a
 * byte changes on its way. Against a real OpenSSH sshd.
 */
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { deflateSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TargetSession } from '../../../src/apply/session.js';
import { SshTransport } from '../../../src/transport/ssh/ssh-transport.js';
import type { ByteSource, HashOptions, Transport } from '../../../src/transport/transport.js';
import { createRepo } from '../../diff/git-repo.js';
import { git } from '../../helpers/git.js';
import { startSshd, type Sshd } from '../../helpers/sshd.js';
import { gitHashObject, noise, sourceOf } from '../conformance.js';

let sshd: Sshd;
let base: string;
let counter = 0;
const newRoot = async () => {
  const root = path.join(base, `t${counter++}`);
  await fs.mkdir(root);
  return root;
};

beforeAll(async () => {
  sshd = await startSshd();
  base = await fs.mkdtemp(path.join(os.tmpdir(), 'diffship-ssh-stream-hash-'));
});
afterAll(async () => {
  await sshd?.stop();
  await fs.rm(base, { recursive: true, force: true });
});

describe('writeStream with hash', () => {
  it('through the file helper: resolves to the blob id of the bytes written, sha1 and sha256', async () => {
    const root = await newRoot();
    const t = new SshTransport(sshd.sshOptions(), root);
    await t.connect();
    try {
      const big = noise(3 * 1024 * 1024 + 7, 41);
      const sha1 = await t.writeStream('a.bin', sourceOf(big), 0o644, { hash: 'sha1' });
      const sha256 = await t.writeStream('b.bin', sourceOf(big), 0o600, { hash: 'sha256', sync: false });
      const plain = await t.writeStream('c.bin', sourceOf(big), 0o644);
      expect(sha1).toBe(gitHashObject(path.join(root, 'a.bin')));
      expect(sha256).toBe(gitHashObject(path.join(root, 'b.bin'), 'sha256'));
      expect(plain).toBeUndefined();
      expect((await fs.readFile(path.join(root, 'b.bin'))).equals(big)).toBe(true);
      expect((await fs.stat(path.join(root, 'b.bin'))).mode & 0o7777).toBe(0o600);
    } finally {
      await t.close();
    }
  });

  it('a small file (one record): resolves to the blob id of the bytes written, sha1 and sha256', async () => {
    const root = await newRoot();
    const t = new SshTransport(sshd.sshOptions(), root);
    await t.connect();
    try {
      const small = noise(4096 + 3, 45);
      const sha1 = await t.writeStream('a.txt', sourceOf(small), 0o644, { hash: 'sha1', sync: false });
      const sha256 = await t.writeStream('b.txt', sourceOf(small), 0o755, { hash: 'sha256' });
      expect(sha1).toBe(gitHashObject(path.join(root, 'a.txt')));
      expect(sha256).toBe(gitHashObject(path.join(root, 'b.txt'), 'sha256'));
      expect(await t.writeStream('c.txt', sourceOf(small), 0o644)).toBeUndefined();
      expect((await fs.readFile(path.join(root, 'b.txt'))).equals(small)).toBe(true);
      expect((await fs.stat(path.join(root, 'b.txt'))).mode & 0o7777).toBe(0o755);
    } finally {
      await t.close();
    }
  });

  it('over SFTP only: resolves to undefined, the file written whole', async () => {
    const root = await newRoot();
    const t = new SshTransport(sshd.sshOptions(), root, undefined, { bulkOps: false, hashMethod: 'sftp' });
    await t.connect();
    try {
      const big = noise(2 * 1024 * 1024 + 3, 42);
      expect(await t.writeStream('a.bin', sourceOf(big), 0o644, { hash: 'sha1' })).toBeUndefined();
      expect((await fs.readFile(path.join(root, 'a.bin'))).equals(big)).toBe(true);
    } finally {
      await t.close();
    }
  });
});

describe('a deploy through the file helper', () => {
  const BIG = 5 * 1024 * 1024 + 1;
  const setup = () => {
    const repo = createRepo();
    repo.write({ 'big.bin': noise(BIG, 43), 'small.txt': 'small\n' });
    return { repo, v1: repo.commit() };
  };
  /** The transport, with the paths every hashFiles call was given. */
  const watched = (real: Transport, flip: boolean) => {
    const hashed: string[] = [];
    const proxy = new Proxy(real, {
      get(target, prop) {
        if (prop === 'hashFiles')
          return (paths: string[], options?: HashOptions) => {
            hashed.push(...paths);
            return target.hashFiles(paths, options);
          };
        if (prop === 'writeStream' && flip)
          return (rel: string, source: ByteSource, mode: number, options?: object) =>
            target.writeStream!(rel, flipped(source), mode, options);
        return Reflect.get(target, prop, target) as unknown;
      },
    });
    return { proxy, hashed };
  };
  const deploy = async (transport: Transport, repo: string, to: string) => {
    const s = await TargetSession.open({ transport, stateDir: '.diffship', command: 'deploy' });
    try {
      return await s.apply(await s.plan({ repo, to, mode: 'authoritative', onDrift: 'fail' }), repo);
    } finally {
      await s.close();
    }
  };

  it('checks every file by the id the helper answered: hashFiles reads nothing back', async () => {
    const { repo, v1 } = setup();
    const root = await newRoot();
    const { proxy, hashed } = watched(new SshTransport(sshd.sshOptions(), root), false);
    try {
      expect(await deploy(proxy, repo.dir, v1)).toMatchObject({ changed: true });
      expect(await fs.readFile(path.join(root, 'small.txt'), 'utf8')).toBe('small\n');
      const staged = hashed.filter((p) => p.includes('/staging/'));
      expect(staged).toEqual([]); // big.bin and small.txt were hashed as they were written
    } finally {
      repo.cleanup();
    }
  });

  it('a byte changed on its way: the helper hashes what it got, E_VERIFY, nothing written', async () => {
    const { repo, v1 } = setup();
    const root = await newRoot();
    const { proxy, hashed } = watched(new SshTransport(sshd.sshOptions(), root), true);
    try {
      await expect(deploy(proxy, repo.dir, v1)).rejects.toMatchObject({
        code: 'E_VERIFY',
        message: expect.stringMatching(/staged copy of big\.bin has blob [0-9a-f]{40}, expected/),
      });
      expect(hashed.filter((p) => p.includes('/staging/'))).toEqual([]);
      await expect(fs.stat(path.join(root, 'big.bin'))).rejects.toMatchObject({ code: 'ENOENT' });
    } finally {
      repo.cleanup();
    }
  });

  it('a byte of a small file changed on its way: caught by the id of its one write record, nothing written', async () => {
    const repo = createRepo();
    repo.write({ 'a.txt': 'first\n', 'b.txt': 'second\n' });
    const v1 = repo.commit();
    const root = await newRoot();
    const { proxy, hashed } = watched(new SshTransport(sshd.sshOptions(), root), true);
    try {
      await expect(deploy(proxy, repo.dir, v1)).rejects.toMatchObject({
        code: 'E_VERIFY',
        message: expect.stringMatching(/staged copy of a\.txt has blob [0-9a-f]{40}, expected/),
      });
      // No hash request after the writes: the helper hashed what it got.
      expect(hashed.filter((p) => p.includes('/staging/'))).toEqual([]);
      await expect(fs.stat(path.join(root, 'a.txt'))).rejects.toMatchObject({ code: 'ENOENT' });
    } finally {
      repo.cleanup();
    }
  });
});

describe('a blob read wrong out of the repository, written through the file helper', () => {
  it('is caught by the id the helper answered: E_VERIFY naming the repository, nothing written', async () => {
    const repo = createRepo();
    const big = noise(3 * 1024 * 1024 + 5, 44);
    repo.write({ 'big.bin': big });
    const v1 = repo.commit();
    const root = await newRoot();
    try {
      // git serves a loose object without checking it against its name (only fsck does).
      const id = git(repo.dir, 'rev-parse', `${v1}:big.bin`);
      const file = path.join(repo.dir, '.git/objects', id.slice(0, 2), id.slice(2));
      const wrong = Buffer.from(big);
      wrong[100] = wrong[100]! ^ 1;
      await fs.chmod(file, 0o644);
      await fs.writeFile(file, deflateSync(Buffer.concat([Buffer.from(`blob ${wrong.length}\0`), wrong])));
      const t = new SshTransport(sshd.sshOptions(), root);
      const s = await TargetSession.open({ transport: t, stateDir: '.diffship', command: 'deploy' });
      try {
        const plan = await s.plan({ repo: repo.dir, to: v1, mode: 'authoritative', onDrift: 'fail' });
        await expect(s.apply(plan, repo.dir)).rejects.toMatchObject({
          code: 'E_VERIFY',
          message: expect.stringMatching(
            new RegExp(
              `staged copy of big\\.bin has blob [0-9a-f]{40}, expected ${id} — the repository's reading \\(check it with git fsck\\)`,
            ),
          ),
        });
      } finally {
        await s.close();
      }
      await expect(fs.stat(path.join(root, 'big.bin'))).rejects.toMatchObject({ code: 'ENOENT' });
      expect(await fs.readdir(path.join(root, '.diffship/staging')).catch(() => [])).toEqual([]);
    } finally {
      repo.cleanup();
    }
  });
});

describe('a small blob read wrong out of the repository (sent whole)', () => {
  /** A repository whose blob of small.txt is served with one byte changed; its id. */
  const corrupted = async () => {
    const repo = createRepo();
    const small = noise(6000, 46);
    repo.write({ 'small.txt': small, 'ok.txt': 'fine\n' });
    const v1 = repo.commit();
    const id = git(repo.dir, 'rev-parse', `${v1}:small.txt`);
    const file = path.join(repo.dir, '.git/objects', id.slice(0, 2), id.slice(2));
    const wrong = Buffer.from(small);
    wrong[10] = wrong[10]! ^ 1;
    await fs.chmod(file, 0o644);
    await fs.writeFile(file, deflateSync(Buffer.concat([Buffer.from(`blob ${wrong.length}\0`), wrong])));
    return { repo, v1, id };
  };
  const cases: Array<[string, object, RegExp]> = [
    // The helper hashes what it wrote: its id names both causes.
    [
      'through the file helper',
      {},
      /staged copy of small\.txt has blob [0-9a-f]{40}, expected ID — the repository's reading/,
    ],
    // Over SFTP the bytes are checked here, as they are taken whole from git.
    [
      'over SFTP only',
      { bulkOps: false, hashMethod: 'sftp' },
      /small\.txt: the bytes read from the repository for blob ID hash to [0-9a-f]{40}/,
    ],
  ];
  it.each(cases)('%s: E_VERIFY, nothing written', async (_, tuning, pattern) => {
    const { repo, v1, id } = await corrupted();
    const root = await newRoot();
    try {
      const t = new SshTransport(sshd.sshOptions(), root, undefined, tuning);
      const s = await TargetSession.open({ transport: t, stateDir: '.diffship', command: 'deploy' });
      try {
        const plan = await s.plan({ repo: repo.dir, to: v1, mode: 'authoritative', onDrift: 'fail' });
        await expect(s.apply(plan, repo.dir)).rejects.toMatchObject({
          code: 'E_VERIFY',
          message: expect.stringMatching(new RegExp(pattern.source.replace('ID', id))),
        });
      } finally {
        await s.close();
      }
      expect((await fs.readdir(root)).filter((n) => n !== '.diffship')).toEqual([]);
      expect(await fs.readdir(path.join(root, '.diffship/staging')).catch(() => [])).toEqual([]);
    } finally {
      repo.cleanup();
    }
  });
});

/** The source with its last byte changed (a copy of its last chunk). */
function flipped(source: ByteSource): ByteSource {
  return {
    size: source.size,
    async *[Symbol.asyncIterator]() {
      let at = 0;
      for await (const chunk of source) {
        at += chunk.length;
        if (at < source.size || chunk.length === 0) yield chunk;
        else {
          const copy = Buffer.from(chunk);
          copy[copy.length - 1] = copy[copy.length - 1]! ^ 0x55;
          yield copy;
        }
      }
    },
  };
}
