/**
 * A backup dropped by the clean-up (backup.ts discardBackup) in one wait for the host, not two
 * (issue 13): its listing's unlink, then its folder's removal chained to it, so the folder goes
 * only once nothing can take the backup for a whole one. Real sshd; the listing's unlink refused
 * on the host (a folder in its place), and the helper ended under the chain.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { OP_RMTREE, OP_UNLINK } from '../../../src/transport/ssh/perl-helper-protocol.js';
import { SshTransport } from '../../../src/transport/ssh/ssh-transport.js';
import { discardBackup } from '../../../src/apply/backup.js';
import { layout, type Layout } from '../../../src/apply/layout.js';
import { newDeployId } from '../../../src/apply/deploy-id.js';
import { closingHelper, waits, watched } from '../../helpers/helper-records.js';
import { sshSuite } from '../../helpers/ssh-suite.js';

const suite = sshSuite('ssh-discard');
let counter = 0;

const ID = newDeployId(new Date('2026-12-06T22:15:00Z'));

/** A target holding one complete backup (its folder with files, and its listing), connected. */
async function setup(): Promise<{ root: string; t: SshTransport; l: Layout }> {
  const root = path.join(suite.base, `r${counter++}`);
  const l = layout('.diffship');
  const folder = path.join(root, l.backupFor(ID));
  fs.mkdirSync(path.join(folder, 'files/flows'), { recursive: true });
  fs.writeFileSync(path.join(folder, 'files/flows/a.xml'), 'a');
  fs.writeFileSync(path.join(root, l.backupListing(ID)), '{"entries":[]}\n');
  return { root, t: await suite.open(root), l };
}

describe('discardBackup over SSH', () => {
  it('unlinks the listing, then removes the folder chained to it, in one turn', async () => {
    const { root, t, l } = await setup();
    try {
      const sent = watched(t);
      await discardBackup(t, l, ID, true);
      expect(sent.map((s) => [s.op, s.rel, s.chained])).toEqual([
        [OP_UNLINK, l.backupListing(ID), false],
        [OP_RMTREE, l.backupFor(ID), true],
      ]);
      expect(waits(sent)).toBe(1);
      expect(fs.existsSync(path.join(root, l.backupListing(ID)))).toBe(false);
      expect(fs.existsSync(path.join(root, l.backupFor(ID)))).toBe(false);
    } finally {
      await t.close();
    }
  });

  it("keeps the folder when the listing's unlink fails, and names the listing", async () => {
    const { root, t, l } = await setup();
    // A folder where the listing is: unlink refuses it (EISDIR), so the chained removal must not run.
    fs.rmSync(path.join(root, l.backupListing(ID)));
    fs.mkdirSync(path.join(root, l.backupListing(ID)));
    fs.writeFileSync(path.join(root, l.backupListing(ID), 'inside'), 'kept');
    try {
      const sent = watched(t);
      await expect(discardBackup(t, l, ID, true)).rejects.toThrow(
        new RegExp(`unlink.*${l.backupListing(ID).replace(/[.]/g, '\\.')}`),
      );
      expect(sent.map((s) => s.op)).toEqual([OP_UNLINK, OP_RMTREE]);
      expect(fs.readFileSync(path.join(root, l.backupFor(ID), 'files/flows/a.xml'), 'utf8')).toBe('a');
      expect(fs.readFileSync(path.join(root, l.backupListing(ID), 'inside'), 'utf8')).toBe('kept');
    } finally {
      await t.close();
    }
  });

  it('when the helper ends under the chain, removes both over SFTP', async () => {
    const { root, t, l } = await setup();
    try {
      // Closed as the folder's removal is queued: whether the host ran either, nobody knows.
      await closingHelper(t, (op) => op === OP_RMTREE);
      await discardBackup(t, l, ID, true);
      expect(fs.existsSync(path.join(root, l.backupListing(ID)))).toBe(false);
      expect(fs.existsSync(path.join(root, l.backupFor(ID)))).toBe(false);
    } finally {
      await t.close();
    }
  });
});
