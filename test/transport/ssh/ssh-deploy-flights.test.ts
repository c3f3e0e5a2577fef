/**
 * The serial round trips of a whole SSH deploy (issue 13: "bound by bandwidth, not round
 * trips"). A flight is a group of the file helper's records sent while others are still out:
 * a record sent when none is outstanding starts a new one, so the count is the number of
 * times the deploy waited for the host with nothing in the pipe. Real sshd, real repository; the
 * helper's records are counted by wrapping the transport's own part.
 */
import { lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SshTransport } from '../../../src/transport/ssh/ssh-transport.js';
import {
  OP_LINK,
  OP_MKDIR,
  OP_PEEK,
  OP_RENAME,
  OP_WRITE,
} from '../../../src/transport/ssh/perl-helper-protocol.js';
import { OP_READ } from '../../../src/transport/ssh/read-protocol.js';
import { OP_BULK_WRITE } from '../../../src/transport/ssh/bulk-write-protocol.js';
import { startSshd, type Sshd } from '../../helpers/sshd.js';
import { snapshot, type Tree } from '../../helpers/repo.js';
import { deploy, setup as sharedSetup, stagingLeft } from '../../helpers/staged-tree.js';
import { PUBLISHED_BEFORE, watched } from '../../helpers/helper-records.js';
import { OP_PATCH } from '../../../src/transport/ssh/patch-protocol.js';
import { OP_STATS } from '../../../src/transport/ssh/scan-protocol.js';
import { OP_KEEP_MANY } from '../../../src/transport/ssh/many-ops-protocol.js';

let sshd: Sshd;
const cleanups: Array<() => void> = [];
beforeAll(async () => {
  sshd = await startSshd();
});
afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) c();
  await sshd?.stop();
});

/** Counts the flights of helper records of `t` from now on (a record sent while none is out starts one). */
function flights(t: SshTransport): { flights: number; ops: number[] } {
  const seen = { flights: 0, ops: [] as number[] };
  let outstanding = 0;
  const parts = t as unknown as { ops: { run: (...args: unknown[]) => Promise<string> } };
  const run = parts.ops.run.bind(parts.ops);
  parts.ops.run = (...args: unknown[]) => {
    // A staged file's bytes go as git gives them (not a wait for the host): never a flight's start,
    // one at a time or a batch of small ones (bulk-write.ts). A state file's write (a publish) is.
    const staged =
      args[1] === OP_BULK_WRITE || (args[1] === OP_WRITE && String(args[2]).startsWith('.diffship/staging/'));
    if (outstanding === 0 && !staged) seen.flights++;
    outstanding++;
    seen.ops.push(args[1] as number);
    const p = run(...args);
    const heard = () => outstanding--;
    p.then(heard, heard);
    return p;
  };
  return seen;
}

/** The staging folder and the folders in it; the backup's folder for its links. */
const STAGING = /^\.diffship\/staging\/./;
const BACKUP_FILES = /^\.diffship\/backups\/[^/]+\/files$/;

/**
 * Hold the answers of the records `held` picks until a record of op `until` is sent (or 3 s):
 * a deploy that waits for one of those answers before it sends that record times out here.
 */
function holdAnswers(
  t: SshTransport,
  pick: (op: number, rel: string) => boolean,
  until: number,
): { outcome(): 'sent behind' | 'timed out' | 'none held' } {
  const parts = t as unknown as { ops: { run: (...args: unknown[]) => Promise<string> } };
  const run = parts.ops.run.bind(parts.ops);
  let held = 0;
  let timedOut = false;
  let sent!: () => void;
  const behind = new Promise<boolean>((resolve) => (sent = () => resolve(true)));
  parts.ops.run = (...args: unknown[]) => {
    const [, op, rel] = args as [unknown, number, string];
    if (op === until) sent();
    const answer = run(...args);
    if (!pick(op, rel)) return answer;
    held++;
    const timeout = new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 3000).unref());
    const release = Promise.race([behind, timeout]).then((ok) => void (timedOut ||= !ok));
    return answer.then(
      async (payload) => {
        await release;
        return payload;
      },
      async (error: unknown) => {
        await release;
        throw error;
      },
    );
  };
  return { outcome: () => (held === 0 ? 'none held' : timedOut ? 'timed out' : 'sent behind') };
}

/** 400 files in 8 folders; v2 changes 100 of them (as bench/ssh's update does). */
function releases(): { v1: Tree; v2: Tree } {
  const v1: Tree = {};
  for (let i = 0; i < 400; i++) v1[`flows/team-${i % 8}/flow-${i}.xml`] = `<flow ${i}/>\n`.repeat(40);
  const v2: Tree = { ...v1 };
  for (let k = 0; k < 100; k++) v2[`flows/team-${(k * 4) % 8}/flow-${k * 4}.xml`] = `<flow ${k} rev="1"/>\n`;
  return { v1, v2 };
}

describe('an SSH deploy waits for the host few times', () => {
  it('first deploy and a 100-file update: flights counted, the target is the release', async () => {
    const { repo, target } = sharedSetup('diffship-ssh-flights-', cleanups);
    const { v1, v2 } = releases();
    const c1 = repo.commit(v1);
    const first = new SshTransport(sshd.sshOptions(), target);
    const firstSeen = flights(first);
    const firstRecords = watched(first);
    // A first deploy's folders (8 here, staged whole) are made behind the staging folder, and
    // its files sent behind them: no wait for either mkdir's answer. Those answers are held here
    // until the first batch of files is sent; a deploy that waited for them would time out.
    const firstHeld = holdAnswers(first, (op, rel) => op === OP_MKDIR && STAGING.test(rel), OP_BULK_WRITE);
    await deploy(first, repo.dir, c1);
    expect(snapshot(target, ['.diffship'])).toEqual(snapshot(repo.dir, ['.git']));
    expect(firstHeld.outcome()).toBe('sent behind');
    const folders = firstRecords.filter((r) => r.op === OP_MKDIR && STAGING.test(r.rel));
    expect(folders.length).toBeGreaterThanOrEqual(9);
    const firstBulk = firstRecords.findIndex((r) => r.op === OP_BULK_WRITE);
    expect(firstBulk).toBeGreaterThan(firstRecords.indexOf(folders.at(-1)!));
    // Its commit: the 8 folders created whole renamed into place, the stats of their 400 files
    // the manifest records, and the manifest's folders, in one turn; then the manifest (whole,
    // written in staging) and the state naming it, in one chain.
    const roots = firstRecords.filter(
      (r) => r.op === OP_RENAME && /^\.diffship\/staging\/[^/]+\/t\//.test(r.rel),
    );
    expect(roots).toHaveLength(1); // flows/, holding the 8 team folders
    const turn = firstRecords.filter((r) => r.answersBefore === roots[0]!.answersBefore);
    expect(turn.map((r) => r.op)).toEqual([OP_RENAME, OP_STATS, OP_MKDIR, OP_MKDIR]);
    expect(turn[1]!.rel.split('\0')).toHaveLength(400);
    const whole = firstRecords.findIndex(
      (r) => r.op === OP_WRITE && /^\.diffship\/staging\/[^/]+\.tsv$/.test(r.rel),
    );
    const published = firstRecords.slice(whole, whole + 5);
    expect(published.map((r) => [r.op, r.chained])).toEqual(PUBLISHED_BEFORE);
    expect(published[2]!.rel).toMatch(/^\.diffship\/state\.json\.tmp-/);
    expect(new Set(published.map((r) => r.answersBefore)).size).toBe(1);
    const c2 = repo.commit(v2);
    const update = new SshTransport(sshd.sshOptions(), target);
    const updateSeen = flights(update);
    const records = watched(update);
    const stagingHeld = holdAnswers(update, (op, rel) => op === OP_MKDIR && STAGING.test(rel), OP_BULK_WRITE);
    const backupHeld = holdAnswers(
      update,
      (op, rel) => op === OP_MKDIR && BACKUP_FILES.test(rel),
      OP_KEEP_MANY,
    );
    await deploy(update, repo.dir, c2);
    expect(snapshot(target, ['.diffship'])).toEqual(snapshot(repo.dir, ['.git']));
    // Before (2026-12-02): 36 and 50. State folders made together, the renames and backup links
    // of 100 files each in one flight, the cleanup after the state in one.
    // Before (2026-12-02): 27 and 44. State folders made together; renames, backup links and the
    // plan's lstats not capped at 64; all of a file's folders looked at together; the journal,
    // staging and both prunes after the state at once; the previous manifest's link with the files';
    // recovery's three cleanups at once; no mkdir of a state folder just seen; the manifest's
    // folders made with the stats of the written files.
    // From 2026-12-06 a publish's first write starts a flight too (it had not been counted):
    // measured 17 and 15–16 with the backup's listing in the journal's chain (below); then 16
    // and 13 with the census, the manifest read with the second look and the backup's links
    // with their lstats; 15 and 12 (2026-12-07) with the staged files, the folders staged whole
    // and the backup's links right behind their folders' mkdir (checked exactly above and below;
    // one flight of slack here for a loaded machine, where an answer may beat the next record).
    // 11 and 12 (2026-12-07, later): a first deploy's created folders renamed with the stats
    // of their files and the manifest's folders, its whole manifest and the state in one chain.
    expect(firstSeen.flights).toBeLessThanOrEqual(12);
    expect(updateSeen.flights).toBeLessThanOrEqual(13);
    // Without a preflight before it, the deploy reads the recorded manifest with the second look
    // at the state folder, in its turn: not a wait of its own after it.
    const read = records.find((r) => r.op === OP_READ && r.rel.startsWith('.diffship/manifests/'));
    const look = records.find((r) => r.op === OP_PEEK && r.rel.split('\0').includes(read?.rel ?? ''));
    expect(read).toBeDefined();
    expect(look?.answersBefore).toBe(read!.answersBefore);
    // The state that names the new manifest goes with its patch, chained: no wait between them.
    const patch = records.findIndex((r) => r.op === OP_PATCH);
    expect(patch).toBeGreaterThan(-1);
    const [write, rename] = records.slice(patch + 1, patch + 3);
    expect(write).toMatchObject({
      op: OP_WRITE,
      chained: true,
      answersBefore: records[patch]!.answersBefore,
    });
    expect(write!.rel).toMatch(/^\.diffship\/state\.json\.tmp-/);
    expect(rename).toMatchObject({ chained: true, answersBefore: records[patch]!.answersBefore });
    // The backup looks at and links the replaced files in one record of many (keep many: an
    // lstat and a link each on the host), sent with the previous manifest's link: one turn.
    const keeps = records.filter((r) => r.op === OP_KEEP_MANY);
    expect(keeps).toHaveLength(1);
    expect(keeps[0]!.rel.split('\0').filter((p) => p.startsWith('flows/'))).toHaveLength(100);
    const links = [...keeps, ...records.filter((r) => r.op === OP_LINK)];
    expect(links.some((r) => r.op === OP_LINK && r.rel.startsWith('.diffship/manifests/'))).toBe(true);
    expect(new Set(links.map((r) => r.answersBefore)).size).toBe(1);
    const backup = readdirSync(join(target, '.diffship/backups')).sort().at(-1)!;
    expect(readdirSync(join(target, '.diffship/backups', backup, 'files'))).toHaveLength(100);
    // The staged files and the backup's links go right behind their folders' mkdir, without
    // waiting for its answer (Transport.inOrder: the helper does them in order).
    expect(stagingHeld.outcome()).toBe('sent behind');
    expect(backupHeld.outcome()).toBe('sent behind');
    const mkdirOf = (rel: RegExp) => records.findIndex((r) => r.op === OP_MKDIR && rel.test(r.rel));
    expect(records.findIndex((r) => r.op === OP_BULK_WRITE)).toBeGreaterThan(mkdirOf(STAGING));
    expect(records.indexOf(keeps[0]!)).toBeGreaterThan(mkdirOf(BACKUP_FILES));
    // The keep record takes the lstats itself: no peek of those paths after the folder's mkdir.
    const backedUp = new Set(keeps[0]!.rel.split('\0'));
    const peeked = records
      .slice(mkdirOf(BACKUP_FILES))
      .filter((r) => r.op === OP_PEEK && r.rel.split('\0').some((p) => backedUp.has(p)));
    expect(peeked).toEqual([]);
    // The backup's listing goes in the journal's chain: written, renamed, then the journal's
    // write, sync and rename, each run only once the one before it succeeded.
    const listing = records.findIndex(
      (r) => r.op === OP_WRITE && /^\.diffship\/backups\/[^/]+\/manifest\.json\.tmp-/.test(r.rel),
    );
    expect(listing).toBeGreaterThan(-1);
    const chain = records.slice(listing, listing + 5);
    expect(chain.map((r) => [r.op, r.chained])).toEqual(PUBLISHED_BEFORE);
    expect(chain[2]!.rel).toMatch(/^\.diffship\/journal\.json\.tmp-/);
    expect(new Set(chain.map((r) => r.answersBefore)).size).toBe(1);
    // The stats the manifest records go right behind the commit's renames of the 100 files.
    const commit = records.filter((r) => r.op === OP_RENAME && r.rel.startsWith('.diffship/staging/'));
    expect(commit).toHaveLength(100);
    const stats = records.findLastIndex((r) => r.op === OP_STATS && r.rel.includes('flows/'));
    expect(records[stats - 1]).toBe(commit.at(-1));
    expect(new Set([...commit, records[stats]!].map((r) => r.answersBefore)).size).toBe(1);
    // The state folders made together still get the state folder's mode, and are real folders.
    for (const dir of ['.diffship', '.diffship/backups', '.diffship/manifests'])
      expect(lstatSync(join(target, dir)).mode & 0o7777, dir).toBe(0o755);
    const backups = readdirSync(join(target, '.diffship/backups'));
    expect(backups).toHaveLength(2);
    for (const b of backups)
      expect(lstatSync(join(target, '.diffship/backups', b, 'files')).mode & 0o7777).toBe(0o755);
  });

  it('a staging folder the helper fails to make: the writes queued behind it fail too, the target untouched', async () => {
    const { repo, target } = sharedSetup('diffship-ssh-flights-mkdir-', cleanups);
    const { v1, v2 } = releases();
    const c1 = repo.commit(v1);
    await deploy(new SshTransport(sshd.sshOptions(), target), repo.dir, c1);
    const before = snapshot(target, ['.diffship/backups', '.diffship/manifests']);
    const t = new SshTransport(sshd.sshOptions(), target);
    // The helper is asked to make the staging folder under a file instead (ENOTDIR on the host);
    // the records behind it are sent before its answer, as ever.
    const records = watched(t, (op, rel) => {
      if (op === OP_MKDIR && /^\.diffship\/staging\/[^/]+$/.test(rel)) return [op, '.diffship/state.json/x'];
    });
    // Its refusal reaches the deploy only once the files are sent (as on a far host).
    const held = holdAnswers(t, (op, rel) => op === OP_MKDIR && STAGING.test(rel), OP_BULK_WRITE);
    const failed = await deploy(t, repo.dir, repo.commit(v2)).then(
      () => null,
      (error: unknown) => error,
    );
    // (The transport's own mkdir over SFTP then made the folder: the writes' failure is the one told.)
    expect(String(failed)).toMatch(
      /cannot write "\.diffship\/staging\/[^"]+": No such file or directory \(ENOENT\)/,
    );
    expect(held.outcome()).toBe('sent behind');
    const bulk = records.findIndex((r) => r.op === OP_BULK_WRITE);
    expect(bulk).toBeGreaterThan(records.findIndex((r) => r.op === OP_MKDIR && STAGING.test(r.rel)));
    // Nothing of the release reached the target; no lock, staging or journal left behind.
    expect(snapshot(target, ['.diffship/backups', '.diffship/manifests', '.diffship/staging'])).toEqual(
      before,
    );
    expect(stagingLeft(target)).toEqual([]);
    expect(readdirSync(join(target, '.diffship/backups'))).toHaveLength(1);
  });

  it('links only the files the plan saw there with their lstats, never a file the release adds', async () => {
    const { repo, target } = sharedSetup('diffship-ssh-flights-adds-', cleanups);
    const { v1 } = releases();
    await deploy(new SshTransport(sshd.sshOptions(), target), repo.dir, repo.commit(v1));
    const v3: Tree = { ...v1 };
    for (let k = 0; k < 5; k++) v3[`flows/team-${k}/flow-${k}.xml`] = `<flow ${k} rev="3"/>\n`;
    for (let k = 0; k < 20; k++) v3[`flows/team-${k % 8}/added-${k}.xml`] = `<added ${k}/>\n`;
    const t = new SshTransport(sshd.sshOptions(), target);
    const records = watched(t);
    await deploy(t, repo.dir, repo.commit(v3));
    expect(snapshot(target, ['.diffship'])).toEqual(snapshot(repo.dir, ['.git']));
    expect(records.filter((r) => r.op === OP_LINK && r.rel.startsWith('flows/'))).toEqual([]);
    // One record looks at the replaced files and at the added ones in existing folders (a file may
    // be in the way there); the host links what it finds: the 5 replaced files, never an addition.
    const asked = records.filter((r) => r.op === OP_KEEP_MANY).flatMap((r) => r.rel.split('\0'));
    expect(asked.filter((p) => !p.includes('/added-')).sort()).toEqual(
      Array.from({ length: 5 }, (_, k) => `flows/team-${k}/flow-${k}.xml`).sort(),
    );
    const backups = readdirSync(join(target, '.diffship/backups')).sort();
    const files = join(target, '.diffship/backups', backups.at(-1)!, 'files');
    expect(readdirSync(files)).toHaveLength(5);
  });
});
