/** GitObjects: one long-lived `git cat-file --batch` answering lookups, on real repositories. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GitObjects } from '../../src/diff/git-objects.js';
import { gitBlobId } from '../../src/diff/blob.js';
import { CAT_FILE_CONFIG } from '../../src/diff/requests.js';
import { createRepo, type TestRepo } from './git-repo.js';
import { git } from '../helpers/git.js';

describe('GitObjects', () => {
  let r: TestRepo;
  let v1: string;
  const big = Buffer.alloc(3 * 1024 * 1024 + 17, 'x'); // larger than any pipe buffer
  const smallText = 'hello\n';

  beforeAll(() => {
    r = createRepo();
    r.write({ 'a.txt': smallText, 'big.bin': big, empty: '', '.diffshipignore': '*.log\n' });
    v1 = r.commit();
    git(r.dir, 'tag', 'v1');
  });
  afterAll(() => r.cleanup());

  it('resolves refs, paths in a commit and blob ids, in request order', async () => {
    const objects = new GitObjects(r.dir);
    try {
      const [byTag, byPath, missing, blob] = await Promise.all([
        objects.lookup('v1^{commit}'),
        objects.lookup(`${v1}:.diffshipignore`),
        objects.lookup('no-such-tag^{commit}'),
        objects.lookup(gitBlobId(Buffer.from(smallText))),
      ]);
      expect(byTag).toMatchObject({ found: true, oid: v1, type: 'commit' });
      expect(byPath.found && byPath.content.toString()).toBe('*.log\n');
      expect(missing).toEqual({ name: 'no-such-tag^{commit}', found: false, ambiguous: false });
      expect(blob.found && blob.type).toBe('blob');
    } finally {
      objects.close();
    }
  });

  it('reads blobs whole, large and empty ones included, from many requests at once', async () => {
    const objects = new GitObjects(r.dir);
    try {
      const ids = [big, Buffer.alloc(0), Buffer.from(smallText)].map((b) => gitBlobId(b));
      const reads = await Promise.all([...ids, ...ids].map((id) => objects.readBlob(id)));
      expect(reads[0]!.equals(big)).toBe(true);
      expect(reads[1]!.length).toBe(0);
      expect(reads[2]!.toString()).toBe(smallText);
      expect(reads[3]!.equals(big)).toBe(true);
    } finally {
      objects.close();
    }
  });

  it('says which blob is missing, and refuses what is not a blob id', async () => {
    const objects = new GitObjects(r.dir);
    try {
      await expect(objects.readBlob('0'.repeat(40))).rejects.toThrow(/blob 0{40} is missing/);
      await expect(objects.readBlob('--output=x')).rejects.toMatchObject({ code: 'E_GIT' });
      await expect(objects.readBlob(v1)).rejects.toThrow(/is a commit, not a blob/);
      await expect(objects.lookup('a\nb')).rejects.toThrow(/line break/);
    } finally {
      objects.close();
    }
  });

  it('starts no process until asked, and refuses lookups after close', async () => {
    const objects = new GitObjects(r.dir);
    objects.close();
    await expect(objects.lookup('v1')).rejects.toThrow(/closed/);
  });

  it('fails later lookups when git dies between requests, instead of waiting forever', async () => {
    const objects = new GitObjects(r.dir);
    try {
      await objects.lookup('v1^{commit}');
      const proc = (
        objects as unknown as { proc: { kill(s: string): void; once(e: string, f: () => void): void } }
      ).proc;
      await new Promise<void>((resolve) => {
        proc.once('close', resolve);
        proc.kill('SIGKILL');
      });
      await expect(objects.lookup('v1^{commit}')).rejects.toThrow(/git cat-file ended early/);
    } finally {
      objects.close();
    }
  });

  it('asks git for buffered answers, and a git older than 2.36 (no --batch-command) the same plainly', async () => {
    // A real git behind a wrapper that logs its arguments; `old` refuses --batch-command as git 2.35 does.
    const bin = mkdtempSync(join(tmpdir(), 'diffship-git-wrapper-'));
    const log = join(bin, 'calls');
    const real = execFileSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).trim();
    const wrapper = (old: boolean) =>
      [
        '#!/bin/sh',
        `echo "$*" >> '${log}'`,
        old
          ? `for a in "$@"; do [ "$a" = --batch-command ] && { echo "error: unknown option batch-command" >&2; echo 'usage: git cat-file <type> <object>' >&2; exit 129; }; done`
          : '',
        `exec '${real}' "$@"`,
      ].join('\n');
    const saved = process.env.PATH;
    process.env.PATH = `${bin}:${saved}`;
    try {
      for (const old of [false, true]) {
        writeFileSync(join(bin, 'git'), `${wrapper(old)}\n`, { mode: 0o755 });
        writeFileSync(log, '');
        const objects = new GitObjects(r.dir);
        const ids = [big, Buffer.from(smallText), Buffer.alloc(0)].map((b) => gitBlobId(b));
        const first = Promise.all([objects.readBlob(ids[1]!), objects.lookup(`${v1}:no such file`)]);
        const [small, missing] = await first;
        expect(small.toString()).toBe(smallText);
        expect(missing).toMatchObject({ found: false });
        const reads = await Promise.all(ids.map((id) => objects.readBlob(id)));
        expect(reads[0]!.equals(big)).toBe(true);
        expect(reads[2]!.length).toBe(0);
        objects.close();
        const calls = readFileSync(log, 'utf8').trim().split('\n');
        // Every cat-file streams big blobs and maps its pack a window at a time (diff/requests.ts).
        const config = CAT_FILE_CONFIG.join(' ');
        expect(calls).toEqual(
          old
            ? [
                `-C ${r.dir} ${config} cat-file --batch-command --buffer`,
                `-C ${r.dir} ${config} cat-file --batch`,
              ]
            : [`-C ${r.dir} ${config} cat-file --batch-command --buffer`],
        );
      }
    } finally {
      process.env.PATH = saved;
      rmSync(bin, { recursive: true, force: true });
    }
  });

  it('fails every pending lookup with a plain error outside a repository', async () => {
    const notRepo = mkdtempSync(join(tmpdir(), 'diffship-not-repo-'));
    const objects = new GitObjects(notRepo);
    try {
      const results = await Promise.allSettled([objects.lookup('HEAD'), objects.lookup('HEAD~1')]);
      for (const result of results) {
        expect(result.status).toBe('rejected');
        const reason = (result as PromiseRejectedResult).reason as { code: string; message: string };
        expect(reason.code).toBe('E_USAGE');
        expect(reason.message).toMatch(/is not a git repository; pass --repo/);
      }
    } finally {
      objects.close();
    }
  });
});
