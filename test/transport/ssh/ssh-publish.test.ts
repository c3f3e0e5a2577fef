/**
 * A whole file published in one round trip (issue 13): the file helper's
 * chained records (perl-helper-protocol.ts CHAIN_FLAG) run only if the record
 * right before them succeeded, so a write, a sync and a rename go back to back
 * and still stop at the first failure. The helper is run under `sh` for the
 * protocol; the transport's publishFile (publish.ts) and the JSON writers of
 * json-file.ts run against a real sshd, with failures made on the host (a link
 * on the path, a folder in the way) and the helper ended under a publish.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OP_RENAME, OP_SYNC, OP_UNLINK, OP_WRITE } from '../../../src/transport/ssh/perl-helper-protocol.js';
import { SshTransport } from '../../../src/transport/ssh/ssh-transport.js';
import { writeJsonAtomic, writeTextAtomicWithPending } from '../../../src/apply/json-file.js';
import { FileHelper } from '../../helpers/file-helper.js';
import { closingHelper, waits, watched } from '../../helpers/helper-records.js';
import { startSshd, type Sshd } from '../../helpers/sshd.js';
import { tempDir } from '../../helpers/git.js';
import { makeRepo } from '../../helpers/repo.js';
import { deploy } from '../../helpers/staged-tree.js';

let sshd: Sshd;
let base: string;
let counter = 0;
beforeAll(async () => {
  sshd = await startSshd();
  base = tempDir('diffship-ssh-publish-');
});
afterAll(async () => {
  await sshd?.stop();
  fs.rmSync(base, { recursive: true, force: true });
});

const newRoot = () => {
  const root = path.join(base, `r${counter++}`);
  fs.mkdirSync(root);
  return root;
};
/** Every name under `root`, recursively (temporary files would show here). */
const names = (root: string) => fs.readdirSync(root, { recursive: true }).map(String).sort();

describe('chained records of the file helper', () => {
  it('run only after a success; a skipped record is ECANCELED, its data read off the stream', async () => {
    const root = newRoot();
    const helper = new FileHelper(root);
    const big = randomBytes(3 * 1024 * 1024); // skipped whole, or the next record would be misread
    const [write, rename, skippedWrite, fresh, chainedOk] = await Promise.all([
      helper.send(OP_WRITE, 'missing/a.tmp', { data: Buffer.from('A'), mode: 0o644 }),
      helper.send(OP_RENAME, 'missing/a.tmp', { b: 'a', chained: true }),
      helper.send(OP_WRITE, 'b', { data: big, mode: 0o644, chained: true }),
      helper.send(OP_WRITE, 'c.tmp', { data: Buffer.from('C'), mode: 0o600 }),
      helper.send(OP_RENAME, 'c.tmp', { b: 'c', chained: true }),
    ]);
    expect(write).toMatchObject({ ok: false, errno: 'ENOENT' });
    expect(rename).toMatchObject({
      ok: false,
      errno: 'ECANCELED',
      message: expect.stringMatching(/not run/),
    });
    expect(skippedWrite).toMatchObject({ ok: false, errno: 'ECANCELED' });
    // A record without the flag runs whatever came before; the chain after it runs on its success.
    expect(fresh).toMatchObject({ ok: true });
    expect(chainedOk).toMatchObject({ ok: true });
    expect(names(root)).toEqual(['c']);
    expect(fs.readFileSync(path.join(root, 'c'), 'utf8')).toBe('C');
    expect(await helper.end()).toBe(0);
    expect(helper.stderr).toBe('');
  });
});

describe('publishFile over SSH', () => {
  it('writes, syncs and renames in one turn: the file exact, no temporary left', async () => {
    const root = newRoot();
    fs.writeFileSync(path.join(root, 'state.json'), 'old');
    const t = new SshTransport(sshd.sshOptions(), root);
    try {
      await t.connect();
      const sent = watched(t);
      await writeTextAtomicWithPending(t, 'state.json', '{"new":true}\n');
      expect(sent.map((s) => [s.op, s.chained])).toEqual([
        [OP_WRITE, false],
        [OP_SYNC, true],
        [OP_RENAME, true],
      ]);
      expect(waits(sent)).toBe(1);
      expect(fs.readFileSync(path.join(root, 'state.json'), 'utf8')).toBe('{"new":true}\n');
      expect((fs.statSync(path.join(root, 'state.json')).mode & 0o777).toString(8)).toBe('644');
      expect(names(root)).toEqual(['state.json']);
    } finally {
      await t.close();
    }
  });

  it('stops at a refused write: the old file kept, the error names the path, nothing left', async () => {
    const root = newRoot();
    const outside = newRoot();
    fs.mkdirSync(path.join(outside, 'real'));
    fs.symlinkSync(path.join(outside, 'real'), path.join(root, 'dir'));
    const t = new SshTransport(sshd.sshOptions(), root);
    try {
      await t.connect();
      await expect(writeJsonAtomic(t, 'dir/state.json', { a: 1 })).rejects.toThrow(/dir\/state\.json\.tmp-/);
      expect(fs.readdirSync(path.join(outside, 'real'))).toEqual([]);
      expect(names(root)).toEqual(['dir']);
    } finally {
      await t.close();
    }
  });

  it('stops at a refused rename (a folder in the way): the folder kept, the temporary file removed', async () => {
    const root = newRoot();
    fs.mkdirSync(path.join(root, 'journal.json'));
    fs.writeFileSync(path.join(root, 'journal.json', 'inside'), 'kept');
    const t = new SshTransport(sshd.sshOptions(), root);
    try {
      await t.connect();
      await expect(writeJsonAtomic(t, 'journal.json', { a: 1 })).rejects.toThrow(/rename/);
      expect(names(root)).toEqual(['journal.json', 'journal.json/inside']);
    } finally {
      await t.close();
    }
  });

  it('where the host refuses syncfs, fsyncs the files instead and still publishes', async () => {
    const root = newRoot();
    fs.mkdirSync(path.join(root, 'link-target'));
    fs.symlinkSync('link-target', path.join(root, 'l'));
    const t = new SshTransport(sshd.sshOptions(), root);
    try {
      await t.connect();
      await t.writeFile('staged.txt', Buffer.from('staged'), 0o644, { sync: false });
      // The chained sync becomes a record the host refuses (ELOOP: a link on the path).
      let refused = false;
      const sent = watched(t, (op, _rel, options) => {
        if (op !== OP_SYNC || !options.chained) return;
        refused = true;
        return [OP_UNLINK, 'l/x'];
      });
      await writeTextAtomicWithPending(t, 'journal.json', 'j\n');
      expect(refused).toBe(true);
      // Then syncWritten's own way (fsync records), then a plain rename.
      expect(sent.slice(3).map((s) => s.op)).toContain(OP_SYNC);
      expect(sent.at(-1)).toMatchObject({ op: OP_RENAME, chained: false });
      expect(fs.readFileSync(path.join(root, 'journal.json'), 'utf8')).toBe('j\n');
      expect(names(root)).toEqual(['journal.json', 'l', 'link-target', 'staged.txt']);
    } finally {
      await t.close();
    }
  });

  it('when the helper ends under a publish, publishes again over SFTP, nothing left', async () => {
    const root = newRoot();
    const t = new SshTransport(sshd.sshOptions(), root);
    try {
      await t.connect();
      await closingHelper(t, (op) => op === OP_RENAME); // the rename's record is never answered
      await writeJsonAtomic(t, 'lock.json', { owner: 'me' });
      expect(JSON.parse(fs.readFileSync(path.join(root, 'lock.json'), 'utf8'))).toEqual({ owner: 'me' });
      expect(names(root)).toEqual(['lock.json']);
    } finally {
      await t.close();
    }
  });

  it("carries a deploy's journal and state: the target exact, its state folder without temporaries", async () => {
    const root = newRoot();
    const repo = makeRepo();
    try {
      await deploy(new SshTransport(sshd.sshOptions(), root), repo.dir, repo.commit({ 'a.txt': 'one' }));
      const t = new SshTransport(sshd.sshOptions(), root);
      const sent = watched(t);
      await deploy(t, repo.dir, repo.commit({ 'a.txt': 'two', 'b/c.txt': 'three' }));
      const chains = sent.filter((s) => s.chained).map((s) => s.op);
      expect(chains).toContain(OP_SYNC); // the journal (and the state) behind the staged files
      expect(chains.filter((op) => op === OP_RENAME).length).toBeGreaterThanOrEqual(2);
      expect(fs.readFileSync(path.join(root, 'a.txt'), 'utf8')).toBe('two');
      expect(fs.readFileSync(path.join(root, 'b/c.txt'), 'utf8')).toBe('three');
      expect(names(root).filter((n) => n.includes('.tmp-'))).toEqual([]);
    } finally {
      repo.cleanup();
    }
  });
});
