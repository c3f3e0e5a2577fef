/**
 * The clean-up prunes backups and manifests from what the lock's first look saw
 * (state-census.ts), not from listings taken after the state: over SSH, two waits for the host
 * fewer. Real sshd and repository; what is kept is compared with what listing would keep, after
 * a recovery that removed leftovers, and after a command run on the host under the lock.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SshTransport } from '../../src/transport/ssh/ssh-transport.js';
import { OP_LIST, OP_RMTREE, OP_UNLINK } from '../../src/transport/ssh/perl-helper-protocol.js';
import { OP_PATCH } from '../../src/transport/ssh/patch-protocol.js';
import { TargetSession } from '../../src/apply/session.js';
import { readState } from '../../src/apply/state.js';
import { layout } from '../../src/apply/layout.js';
import { sshTargetConfig, startSshd, type Sshd } from '../helpers/sshd.js';
import { deploy as apiDeploy } from '../../src/api.js';
import { resolveConfig } from '../../src/config/resolve.js';
import type { Tree } from '../helpers/repo.js';
import { deploy, setup } from '../helpers/staged-tree.js';
import { watched, type Sent } from '../helpers/helper-records.js';

let sshd: Sshd;
const cleanups: Array<() => void> = [];
beforeAll(async () => {
  sshd = await startSshd();
});
afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) c();
  await sshd?.stop();
});

const release = (rev: number): Tree => ({
  'app/a.txt': `a ${rev}\n`,
  'app/b.txt': 'b\n',
  [`app/r${rev}.txt`]: 'r\n',
});
const backupsOf = (target: string) => readdirSync(join(target, '.diffship/backups')).sort();
const manifestsOf = (target: string) => readdirSync(join(target, '.diffship/manifests')).sort();

/** Records sent after the state's turn (the patch of the manifest and the state behind it). */
const afterState = (sent: readonly Sent[]): Sent[] => {
  const patch = sent.findIndex((s) => s.op === OP_PATCH);
  expect(patch, 'no patch of the manifest seen').toBeGreaterThan(-1);
  return sent.slice(patch + 3);
};

/** Four deploys over SSH: three complete backups on the target, plus a folder that is not a backup. */
async function targetWithHistory(prefix: string) {
  const { repo, target } = setup(prefix, cleanups);
  for (let rev = 1; rev <= 4; rev++)
    await deploy(new SshTransport(sshd.sshOptions(), target), repo.dir, repo.commit(release(rev)));
  mkdirSync(join(target, '.diffship/backups/not a backup'));
  expect(backupsOf(target)).toHaveLength(4);
  return { repo, target };
}

/** What the target's state folder should hold once a deploy recorded: the newest 3 backups, the state's manifest. */
async function expectPruned(target: string, backupsBefore: string[]) {
  const t = new SshTransport(sshd.sshOptions(), target);
  try {
    await t.connect();
    const state = await readState(t, layout('.diffship'));
    const made = state!.deployId;
    const newest = [...backupsBefore.filter((b) => b !== 'not a backup'), made].sort().slice(-3);
    expect(backupsOf(target)).toEqual([...newest, 'not a backup'].sort());
    for (const b of newest)
      expect(existsSync(join(target, '.diffship/backups', b, 'manifest.json')), b).toBe(true);
    const file = state!.manifestFile!.file;
    expect(manifestsOf(target).filter((n) => n !== file && n !== file.replace(/\.tsv$/, '.walk'))).toEqual(
      [],
    );
  } finally {
    await t.close();
  }
}

describe('the clean-up prunes from the census taken with the lock (SSH)', () => {
  it('lists nothing after the state, keeps the newest three backups and only the recorded manifest', async () => {
    const { repo, target } = await targetWithHistory('diffship-census-');
    const before = backupsOf(target);
    const t = new SshTransport(sshd.sshOptions(), target);
    const sent = watched(t);
    await deploy(t, repo.dir, repo.commit(release(5)));
    const tail = afterState(sent);
    expect(tail.filter((s) => s.op === OP_LIST)).toEqual([]);
    // The oldest backup went: its listing first (with the clean-up), then its folder chained to
    // it in the same turn (one wait for the host, not two).
    const listing = tail.findIndex(
      (s) => s.op === OP_UNLINK && s.rel === `.diffship/backups/${before[0]}/manifest.json`,
    );
    expect(listing, 'the oldest backup listing unlinked').toBeGreaterThan(-1);
    expect(tail[listing + 1]).toMatchObject({
      op: OP_RMTREE,
      rel: `.diffship/backups/${before[0]}`,
      chained: true,
      answersBefore: tail[listing]!.answersBefore,
    });
    // Additive: the release's files in place (the older releases' extra files stay).
    for (const [rel, content] of Object.entries(release(5)))
      expect(readFileSync(join(target, rel), 'utf8')).toBe(content);
    await expectPruned(target, before);
  });

  it('after a recovery that removed an incomplete backup and a stray manifest: prunes as listing would', async () => {
    const { repo, target } = await targetWithHistory('diffship-census-recovered-');
    const complete = backupsOf(target);
    // A run that never reached its journal: a backup without its listing, a manifest never recorded.
    mkdirSync(join(target, '.diffship/backups/29990101T000000000Z-ffffff/files'), { recursive: true });
    writeFileSync(join(target, '.diffship/manifests/29990101T000000000Z-ffffff.tsv'), 'x');
    const t = new SshTransport(sshd.sshOptions(), target);
    const sent = watched(t);
    await deploy(t, repo.dir, repo.commit(release(5)));
    expect(afterState(sent).filter((s) => s.op === OP_LIST)).toEqual([]);
    expect(backupsOf(target)).not.toContain('29990101T000000000Z-ffffff');
    await expectPruned(target, complete);
  });

  it('lists again once a command ran on the host under the lock (it removed a backup): three are still kept', async () => {
    const { repo, target } = await targetWithHistory('diffship-census-command-');
    const before = backupsOf(target);
    const t = new SshTransport(sshd.sshOptions(), target);
    const sent = watched(t);
    const s = await TargetSession.open({ transport: t, stateDir: '.diffship', command: 'deploy' });
    try {
      // A hook's remote command, as `before` runs it: it removes the newest backup by hand.
      const newest = before.filter((b) => b !== 'not a backup').at(-1)!;
      expect((await s.transport.exec(`rm -rf .diffship/backups/${newest}`)).code).toBe(0);
      const plan = await s.plan({
        repo: repo.dir,
        to: repo.commit(release(5)),
        mode: 'additive',
        onDrift: 'fail',
      });
      await s.apply(plan, repo.dir);
      expect(
        afterState(sent)
          .filter((r) => r.op === OP_LIST)
          .map((r) => r.rel),
      ).toContain('.diffship/backups');
      await s.close();
      await expectPruned(
        target,
        before.filter((b) => b !== newest),
      );
    } finally {
      await s.close();
    }
  });

  it("lists again once a `before` hook's local command ran (it removed a backup): three are still kept", async () => {
    const { repo, target } = await targetWithHistory('diffship-census-local-');
    const before = backupsOf(target);
    const newest = before.filter((b) => b !== 'not a backup').at(-1)!;
    // The sshd is on this machine: the hook's `run` reaches the target folder as a local command.
    const config = resolveConfig(
      {
        targets: [
          {
            name: 't',
            ...sshTargetConfig(sshd, target),
            before: { run: `rm -rf '${join(target, '.diffship/backups', newest)}'` },
          },
        ],
      },
      { baseDir: target },
    );
    const report = await apiDeploy({ config, repo: repo.dir, to: repo.commit(release(5)) });
    expect(report.status, JSON.stringify(report.targets[0]?.steps)).toBe('succeeded');
    await expectPruned(
      target,
      before.filter((b) => b !== newest),
    );
  });
});
