/**
 * A release that deletes files over SSH: the deletes and the folders they empty go a depth at
 * a time (their looks in one record, then their removals), not a few round trips per file and
 * per folder; the folders a release creates are renamed into place together, and so are the
 * files in the way of folders removed; a rollback removes what a deploy added a depth at a
 * time. A real sshd; the helper's records are watched (helper-records.ts) to count how often
 * the deploy waited for the host, and the target is compared file by file after it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SshTransport } from '../../src/transport/ssh/ssh-transport.js';
import { startSshd, type Sshd } from '../helpers/sshd.js';
import { tempDir } from '../helpers/git.js';
import { makeRepo, type Tree } from '../helpers/repo.js';
import { deployAuthoritative, deployWatched, filesUnder, rollbackWatched } from '../helpers/target-files.js';
import { waits } from '../helpers/helper-records.js';

let sshd: Sshd;
let base: string;
beforeAll(async () => {
  sshd = await startSshd();
  base = tempDir('diffship-ssh-deletes-');
});
afterAll(async () => {
  await sshd?.stop();
  fs.rmSync(base, { recursive: true, force: true });
});

describe('deletes over SSH', () => {
  it('go a depth at a time: a few waits for 60 files in 30 folders, emptied folders gone, the rest exact', async () => {
    const root = path.join(base, 'target');
    fs.mkdirSync(root);
    // 30 folders two and three deep, 4 files each; v2 deletes 2 from every folder and empties 10 of them.
    const v1: Tree = {};
    for (let d = 0; d < 30; d++)
      for (let f = 0; f < 4; f++)
        v1[`app/${d % 2 ? 'x' : 'y'}/d${d}/${d < 10 ? 'deep/' : ''}f${f}.txt`] = `${d}-${f}\n`;
    const v2: Tree = {};
    for (const [rel, content] of Object.entries(v1)) {
      const d = Number(/d(\d+)/.exec(rel)![1]);
      const f = Number(/f(\d)/.exec(rel)![1]);
      if (d >= 20 || f >= 2) v2[rel] = content; // folders d20–d29 keep all, the others keep f2, f3
    }
    for (let d = 0; d < 10; d++) {
      delete v2[`app/${d % 2 ? 'x' : 'y'}/d${d}/deep/f2.txt`];
      delete v2[`app/${d % 2 ? 'x' : 'y'}/d${d}/deep/f3.txt`];
    }
    const repo = makeRepo();
    try {
      await deployAuthoritative(new SshTransport(sshd.sshOptions(), root), repo.dir, repo.commit(v1));
      const sent = await deployWatched(new SshTransport(sshd.sshOptions(), root), repo.dir, repo.commit(v2));
      const expected: Record<string, string> = {};
      for (const [rel, content] of Object.entries(v2)) expected[rel] = content as string;
      expect(filesUnder(root)).toEqual(expected);
      // The 10 folders emptied whole are gone (deep/ and the d folder holding only it), the rest stay.
      for (let d = 0; d < 10; d++)
        expect(fs.existsSync(path.join(root, `app/${d % 2 ? 'x' : 'y'}/d${d}`))).toBe(false);
      expect(fs.existsSync(path.join(root, 'app/x/d11'))).toBe(true);
      // 60 deletes and 40 folders looked at: one wait a file was 60, three a folder 120 more.
      // A depth at a time, the whole deploy waits about as often as one without deletes.
      expect(waits(sent)).toBeLessThan(40);
    } finally {
      repo.cleanup();
    }
  });

  it('files the release turns into folders go together, and come back together: a few waits for 40, each tree exact', async () => {
    const root = path.join(base, 'files-to-folders');
    fs.mkdirSync(root);
    const v1: Tree = { 'app/keep.txt': 'keep\n' };
    for (let d = 0; d < 40; d++) v1[`app/x${d}`] = `a file ${d}\n`;
    // v2: each of those files is now a folder of two files.
    const v2: Tree = { 'app/keep.txt': 'keep\n' };
    for (let d = 0; d < 40; d++) for (let f = 0; f < 2; f++) v2[`app/x${d}/f${f}.txt`] = `${d}.${f}\n`;
    const repo = makeRepo();
    try {
      await deployAuthoritative(new SshTransport(sshd.sshOptions(), root), repo.dir, repo.commit(v1));
      const sent = await deployWatched(new SshTransport(sshd.sshOptions(), root), repo.dir, repo.commit(v2));
      expect(filesUnder(root)).toEqual(v2);
      // The 40 files in the way of the new folders were unlinked one after another: 60 waits for
      // the deploy; in one pass ~21.
      expect(waits(sent)).toBeLessThan(30);
      const back = await rollbackWatched(new SshTransport(sshd.sshOptions(), root));
      expect(filesUnder(root)).toEqual(v1);
      // The rollback removed the 40 folders standing where files go back one after another: 69
      // waits; together ~30.
      expect(waits(back)).toBeLessThan(40);
    } finally {
      repo.cleanup();
    }
  });

  it('new folders come into place together, and a rollback removes them a depth at a time: a few waits, the old tree exact', async () => {
    const root = path.join(base, 'rollback');
    fs.mkdirSync(root);
    const v1: Tree = {};
    for (let d = 0; d < 10; d++) v1[`app/d${d}/keep.txt`] = `keep ${d}\n`;
    const v2: Tree = { ...v1 };
    // 60 files added: 20 beside the kept ones, 40 in 20 folders the deploy creates.
    for (let d = 0; d < 10; d++) for (let f = 0; f < 2; f++) v2[`app/d${d}/new${f}.txt`] = `${d}.${f}\n`;
    for (let d = 0; d < 20; d++) for (let f = 0; f < 2; f++) v2[`app/n${d}/sub/f${f}.txt`] = `n${d}.${f}\n`;
    const repo = makeRepo();
    try {
      await deployAuthoritative(new SshTransport(sshd.sshOptions(), root), repo.dir, repo.commit(v1));
      const added = await deployWatched(new SshTransport(sshd.sshOptions(), root), repo.dir, repo.commit(v2));
      expect(Object.keys(filesUnder(root))).toHaveLength(70);
      // The 20 folders the deploy creates come into place together: one rename a folder, in one
      // turn (one after another was 41 waits for this deploy).
      expect(waits(added)).toBeLessThan(30);
      const sent = await rollbackWatched(new SshTransport(sshd.sshOptions(), root));
      expect(filesUnder(root)).toEqual(v1);
      for (let d = 0; d < 20; d++) expect(fs.existsSync(path.join(root, `app/n${d}`))).toBe(false);
      // One wait a file was 60 and more (each file's folders looked at, then the file, then its removal).
      expect(waits(sent)).toBeLessThan(40);
    } finally {
      repo.cleanup();
    }
  });
});
