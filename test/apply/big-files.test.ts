/**
 * Big files streamed from git to the target (issue 13, "bytes stream"): a
 * 24 MiB file (bigger than any chunk, pipe or buffer on the way) deploys
 * intact to a local folder and over a real sshd (file helper, and SFTP only),
 * from SHA-1 and SHA-256 repositories, with exec bits and symlinks as the
 * release has them. A blob corrupted on its way to the target, or read wrong
 * out of the repository, fails with E_VERIFY, the target untouched and no
 * staging left.
 */
import { chmodSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TargetSession } from '../../src/apply/session.js';
import { LocalTransport } from '../../src/transport/local/local-transport.js';
import { SshTransport } from '../../src/transport/ssh/ssh-transport.js';
import type { SshTuning } from '../../src/transport/ssh/tuning.js';
import type { ByteSource, Transport } from '../../src/transport/transport.js';
import { createRepo, type TestRepo } from '../diff/git-repo.js';
import { git, tempDir } from '../helpers/git.js';
import { snapshot } from '../helpers/repo.js';
import { startSshd, type Sshd } from '../helpers/sshd.js';
import { noise } from '../transport/conformance.js';

const BIG = 24 * 1024 * 1024 + 13;

let sshd: Sshd;
let base: string;
beforeAll(async () => {
  sshd = await startSshd();
  base = tempDir('diffship-big-files-');
});
afterAll(async () => {
  await sshd?.stop();
  rmSync(base, { recursive: true, force: true });
});

const repos: TestRepo[] = [];
afterAll(() => repos.forEach((r) => r.cleanup()));
/** One pair of releases per object format, shared by the variants (each deploys to its own folder). */
const shared = new Map<string, ReturnType<typeof releases>>();
const sharedReleases = (format: 'sha1' | 'sha256') => {
  if (!shared.has(format)) shared.set(format, releases(format));
  return shared.get(format)!;
};

/** A repository with two releases: v1 holds the big file, v2 changes it (and the small ones). */
function releases(objectFormat: 'sha1' | 'sha256') {
  const repo = createRepo({ objectFormat });
  repos.push(repo);
  const big1 = noise(BIG, objectFormat === 'sha1' ? 1 : 2);
  repo.write({
    'data/big.bin': big1,
    'run.sh': { content: '#!/bin/sh\necho 1\n', mode: 0o755 },
    'current.bin': { link: 'data/big.bin' },
    'small.txt': 'small\n',
  });
  const v1 = repo.commit();
  const big2 = Buffer.from(big1);
  big2[BIG >> 1] = big2[BIG >> 1]! ^ 0xff; // one byte in the middle of a middle chunk
  repo.write({ 'data/big.bin': big2, 'run.sh': { content: '#!/bin/sh\necho 2\n', mode: 0o755 } });
  const v2 = repo.commit();
  return { repo, v1, v2, big1, big2 };
}

async function deploy(transport: Transport, repoDir: string, to: string) {
  const s = await TargetSession.open({ transport, stateDir: '.diffship', command: 'deploy' });
  try {
    const plan = await s.plan({ repo: repoDir, to, mode: 'authoritative', onDrift: 'fail' });
    return await s.apply(plan, repoDir);
  } finally {
    await s.close();
  }
}

let counter = 0;
const newTarget = () => join(base, `t${counter++}`);
/** What a deploy left in the staging area (removed after a success, emptied after a failure). */
const stagingLeft = (root: string) =>
  existsSync(join(root, '.diffship/staging')) ? readdirSync(join(root, '.diffship/staging')) : [];

const variants: Array<[string, (root: string) => Transport]> = [
  ['local', (root) => new LocalTransport(root)],
  ...(
    [
      ['ssh, file helper', {}],
      ['ssh, SFTP only', { bulkOps: false, hashMethod: 'sftp' }],
    ] as Array<[string, SshTuning]>
  ).map(([name, tuning]): [string, (root: string) => Transport] => [
    name,
    (root) => new SshTransport(sshd.sshOptions(), root, undefined, tuning),
  ]),
];

describe.each(variants)('a big file streamed to the target (%s)', (_name, make) => {
  it.each(['sha1', 'sha256'] as const)(
    'arrives intact from a %s repository, exec bits and links unchanged',
    async (format) => {
      const { repo, v1, v2, big1, big2 } = sharedReleases(format);
      const root = newTarget();
      expect(await deploy(make(root), repo.dir, v1)).toMatchObject({ changed: true });
      expect(readFileSync(join(root, 'data/big.bin')).equals(big1)).toBe(true);
      git(repo.dir, 'checkout', '-q', v1);
      expect(snapshot(root)).toEqual(snapshot(repo.dir, ['.git']));
      expect(await deploy(make(root), repo.dir, v2)).toMatchObject({ changed: true });
      expect(readFileSync(join(root, 'data/big.bin')).equals(big2)).toBe(true);
      git(repo.dir, 'checkout', '-q', v2);
      expect(snapshot(root)).toEqual(snapshot(repo.dir, ['.git']));
      git(repo.dir, 'checkout', '-q', 'main');
      expect(stagingLeft(root)).toEqual([]);
    },
  );

  it('a byte flipped on its way to the target: E_VERIFY, the target untouched, no staging left', async () => {
    const { repo, v1, v2 } = sharedReleases('sha1');
    const root = newTarget();
    await deploy(make(root), repo.dir, v1);
    const before = snapshot(root);
    const real = make(root);
    // Between the hash of the stream and the target: the connection or the disk changes a byte.
    const corrupting = new Proxy(real, {
      get(target, prop) {
        if (prop !== 'writeStream') return Reflect.get(target, prop, target) as unknown;
        return (rel: string, source: ByteSource, mode: number, options?: object) =>
          target.writeStream!(rel, flipOne(source), mode, options);
      },
    });
    await expect(deploy(corrupting, repo.dir, v2)).rejects.toMatchObject({
      code: 'E_VERIFY',
      message: expect.stringMatching(/staged copy of data\/big\.bin .*nothing was changed/),
    });
    expect(snapshot(root)).toEqual(before);
    expect(stagingLeft(root)).toEqual([]);
  });
});

describe("a transport without writeStream (a library user's own)", () => {
  it('is given each file whole through writeFile, and the deploy is the same', async () => {
    const { repo, v1, big1 } = sharedReleases('sha1');
    const root = newTarget();
    const written: string[] = [];
    const real = new LocalTransport(root);
    const plain = new Proxy(real, {
      get(target, prop) {
        if (prop === 'writeStream') return undefined;
        const value = Reflect.get(target, prop, target) as unknown;
        if (prop !== 'writeFile' || typeof value !== 'function') return value;
        return (rel: string, ...rest: unknown[]) => {
          written.push(rel);
          return (value as (...a: unknown[]) => unknown).call(target, rel, ...rest);
        };
      },
    }) as Transport;
    await deploy(plain, repo.dir, v1);
    expect(readFileSync(join(root, 'data/big.bin')).equals(big1)).toBe(true);
    expect(written.filter((w) => w.includes('/staging/'))).toHaveLength(3); // big.bin, run.sh, small.txt
  });
});

describe('a blob read wrong out of the repository', () => {
  it('is caught as it streams, before the journal: E_VERIFY naming the repository, the target untouched', async () => {
    const { repo, v1, v2, big2 } = releases('sha1');
    const root = newTarget();
    await deploy(new LocalTransport(root), repo.dir, v1);
    const before = snapshot(root);
    // git serves a loose object without checking it against its name (only fsck does).
    const id = git(repo.dir, 'rev-parse', `${v2}:data/big.bin`);
    const file = join(repo.dir, '.git/objects', id.slice(0, 2), id.slice(2));
    const wrong = Buffer.from(big2);
    wrong[BIG - 5] = wrong[BIG - 5]! ^ 1;
    chmodSync(file, 0o644);
    writeFileSync(file, deflateSync(Buffer.concat([Buffer.from(`blob ${wrong.length}\0`), wrong])));
    await expect(deploy(new LocalTransport(root), repo.dir, v2)).rejects.toMatchObject({
      code: 'E_VERIFY',
      message: expect.stringMatching(
        new RegExp(`data/big\\.bin: the bytes read from the repository for blob ${id} hash to [0-9a-f]{40}`),
      ),
    });
    expect(snapshot(root)).toEqual(before);
    expect(stagingLeft(root)).toEqual([]);
    expect(readdirSync(join(root, '.diffship')).sort()).not.toContain('journal.json');
  });
});

/** The source with one byte flipped about half way through, in a copy of its chunk. */
function flipOne(source: ByteSource): ByteSource {
  return {
    size: source.size,
    async *[Symbol.asyncIterator]() {
      let at = 0;
      let flipped = false;
      for await (const chunk of source) {
        if (!flipped && source.size > 1024 * 1024 && at + chunk.length > source.size / 2) {
          const copy = Buffer.from(chunk);
          copy[0] = copy[0]! ^ 0x55;
          flipped = true;
          yield copy;
        } else yield chunk;
        at += chunk.length;
      }
    },
  };
}
