/**
 * A rollback over SSH puts the files a deploy replaced or deleted back in a few passes, each
 * over every file at once (their folders looked at, the temporaries cleared, the copies, the
 * looks, the renames), not seven or more round trips per file in a few lanes; a release that
 * turns folders into files clears them, and a rollback makes them again, a pass at a time.
 * A real sshd; the helper's records are watched (helper-records.ts) to count how often the
 * deploy or the rollback waited for the host, and the target is compared after each.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SshTransport } from '../../src/transport/ssh/ssh-transport.js';
import { startSshd, type Sshd } from '../helpers/sshd.js';
import { tempDir } from '../helpers/git.js';
import { makeRepo, type Tree } from '../helpers/repo.js';
import { deployAuthoritative, deployWatched, rollbackWatched } from '../helpers/target-files.js';
import { waits } from '../helpers/helper-records.js';

let sshd: Sshd;
let base: string;
beforeAll(async () => {
  sshd = await startSshd();
  base = tempDir('diffship-ssh-restore-');
});
afterAll(async () => {
  await sshd?.stop();
  fs.rmSync(base, { recursive: true, force: true });
});

/** Every file and link under `root` but the state folder: a file's content, a link's `-> target`. */
function entries(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const rel of fs.readdirSync(root, { recursive: true }).map(String).sort()) {
    if (rel.startsWith('.diffship')) continue;
    const p = path.join(root, rel);
    const st = fs.lstatSync(p);
    if (st.isSymbolicLink()) out[rel] = `-> ${fs.readlinkSync(p)}`;
    else if (st.isFile()) out[rel] = `${fs.readFileSync(p, 'utf8')} ${(st.mode & 0o777).toString(8)}`;
  }
  return out;
}

describe('a rollback over SSH', () => {
  it('puts 402 replaced and deleted files back in a few waits: the first release exact, modes and links too', async () => {
    const root = path.join(base, 'target');
    fs.mkdirSync(root);
    // 100 folders one to three deep, 4 files each; v2 changes 3 of every folder's files and deletes the 4th.
    const v1: Tree = {};
    for (let d = 0; d < 100; d++)
      for (let f = 0; f < 4; f++) v1[`app/${'sub/'.repeat(d % 3)}d${d}/f${f}.sh`] = `v1 ${d}-${f}\n`;
    v1['bin/tool'] = { content: '#!/bin/sh\necho 1\n', mode: 0o755 };
    v1['current'] = { link: 'app/d0' };
    const v2: Tree = {};
    for (const [rel, content] of Object.entries(v1)) {
      if (rel.endsWith('f3.sh')) continue;
      v2[rel] = typeof content === 'string' ? content.replace('v1', 'v2') : content;
    }
    v2['bin/tool'] = { content: '#!/bin/sh\necho 2\n', mode: 0o755 };
    v2['current'] = { link: 'app/d3' };
    const repo = makeRepo();
    try {
      await deployAuthoritative(new SshTransport(sshd.sshOptions(), root), repo.dir, repo.commit(v1));
      const before = entries(root);
      await deployAuthoritative(new SshTransport(sshd.sshOptions(), root), repo.dir, repo.commit(v2));
      expect(entries(root)).not.toEqual(before);
      const sent = await rollbackWatched(new SshTransport(sshd.sshOptions(), root));
      expect(entries(root)).toEqual(before);
      expect(fs.readdirSync(path.join(root, '.diffship/staging'))).toEqual([]);
      // 402 files to put back: seven waits or more each, in 64 lanes, was 80 waits for the
      // rollback; a pass at a time ~30, of which the copies took one per 64 files; with the
      // copies in one pass too (the helper copies on the host) ~24.
      expect(waits(sent)).toBeLessThan(27);
    } finally {
      repo.cleanup();
    }
  });

  it('turns 20 folders of files into files and back in a few waits: each tree exact', async () => {
    const root = path.join(base, 'swap');
    fs.mkdirSync(root);
    // 20 folders, each with 3 files in it and 3 in a folder below; v2 makes each one a file.
    const v1: Tree = { 'app/keep.txt': 'keep\n' };
    for (let d = 0; d < 20; d++)
      for (let f = 0; f < 3; f++) {
        v1[`app/x${d}/f${f}.txt`] = `${d}.${f}\n`;
        v1[`app/x${d}/deep/f${f}.txt`] = `${d}.deep.${f}\n`;
      }
    const v2: Tree = { 'app/keep.txt': 'keep\n' };
    for (let d = 0; d < 20; d++) v2[`app/x${d}`] = `now a file ${d}\n`;
    const repo = makeRepo();
    try {
      await deployAuthoritative(new SshTransport(sshd.sshOptions(), root), repo.dir, repo.commit(v1));
      const before = entries(root);
      const swapping = await deployWatched(
        new SshTransport(sshd.sshOptions(), root),
        repo.dir,
        repo.commit(v2),
      );
      expect(entries(root)).toEqual(
        Object.fromEntries(Object.entries(v2).map(([k, v]) => [k, `${v as string} 644`])),
      );
      // The 40 folders walked for the plan one after another, then 120 files and 40 folders
      // cleared with a look and a removal each, one after another: 385 waits; now ~33.
      expect(waits(swapping)).toBeLessThan(50);
      const sent = await rollbackWatched(new SshTransport(sshd.sshOptions(), root));
      expect(entries(root)).toEqual(before);
      // 40 folders made again, each after a look at it and at every folder above it, one after
      // another: 168 waits; a depth at a time ~32.
      expect(waits(sent)).toBeLessThan(45);
    } finally {
      repo.cleanup();
    }
  });
});
