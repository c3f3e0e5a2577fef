/**
 * A deploy's backup listing and its journal published in one chain (issue 13: one wait for the
 * host, not two): Transport.publishFile's `before` files go first, each written and renamed,
 * and the journal's write, sync and rename run only once they are in place. Real sshd; failures
 * made on the host (a folder in the way, syncfs refused) and the helper ended under the chain.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OP_RENAME, OP_SYNC, OP_UNLINK, OP_WRITE } from '../../../src/transport/ssh/perl-helper-protocol.js';
import { SshTransport } from '../../../src/transport/ssh/ssh-transport.js';
import { writeTextAtomicWithPending } from '../../../src/apply/json-file.js';
import type { PublishAfter } from '../../../src/transport/transport.js';
import { closingHelper, waits, watched } from '../../helpers/helper-records.js';
import { startSshd, type Sshd } from '../../helpers/sshd.js';
import { tempDir } from '../../helpers/git.js';

let sshd: Sshd;
let base: string;
let counter = 0;
beforeAll(async () => {
  sshd = await startSshd();
  base = tempDir('diffship-ssh-publish-before-');
});
afterAll(async () => {
  await sshd?.stop();
  fs.rmSync(base, { recursive: true, force: true });
});

/** A target with a backup folder, a file staged unsynced in it, and the backup's listing to publish. */
async function setup(): Promise<{ root: string; t: SshTransport; listing: PublishAfter }> {
  const root = path.join(base, `r${counter++}`);
  fs.mkdirSync(path.join(root, 'backups/b1'), { recursive: true });
  const t = new SshTransport(sshd.sshOptions(), root);
  await t.connect();
  await t.writeFile('staged.txt', Buffer.from('staged'), 0o644, { sync: false });
  const listing = {
    tmp: 'backups/b1/manifest.json.tmp-1',
    rel: 'backups/b1/manifest.json',
    data: Buffer.from('{"entries":[]}\n'),
    mode: 0o644,
  };
  return { root, t, listing };
}

/** Every file and folder under `root`, relative, sorted. */
const names = (root: string): string[] =>
  (fs.readdirSync(root, { recursive: true }) as string[]).map((n) => n.split(path.sep).join('/')).sort();

/** The listing and the journal in place, exact, and nothing else beside the staged file: no temporary left. */
function expectBothPublished(root: string, listing: PublishAfter): void {
  expect(fs.readFileSync(path.join(root, listing.rel), 'utf8')).toBe('{"entries":[]}\n');
  expect(fs.readFileSync(path.join(root, 'journal.json'), 'utf8')).toBe('j\n');
  expect(names(root)).toEqual([
    'backups',
    'backups/b1',
    'backups/b1/manifest.json',
    'journal.json',
    'staged.txt',
  ]);
}

describe('publishFile with a file before it', () => {
  it('publishes the listing, then the journal, in one turn: both exact, no temporary left', async () => {
    const { root, t, listing } = await setup();
    try {
      const sent = watched(t);
      await writeTextAtomicWithPending(t, 'journal.json', 'j\n', [listing]);
      expect(sent.map((s) => [s.op, s.chained])).toEqual([
        [OP_WRITE, false],
        [OP_RENAME, true],
        [OP_WRITE, true],
        [OP_SYNC, true],
        [OP_RENAME, true],
      ]);
      expect(sent[0]!.rel).toBe(listing.tmp);
      expect(waits(sent)).toBe(1);
      expectBothPublished(root, listing);
    } finally {
      await t.close();
    }
  });

  it("stops at the listing's refused rename: no journal, the error names the listing, nothing left", async () => {
    const { root, t, listing } = await setup();
    fs.mkdirSync(path.join(root, listing.rel));
    fs.writeFileSync(path.join(root, listing.rel, 'inside'), 'kept');
    try {
      await expect(writeTextAtomicWithPending(t, 'journal.json', 'j\n', [listing])).rejects.toThrow(
        /rename.*backups\/b1\/manifest\.json/,
      );
      expect(names(root)).toEqual([
        'backups',
        'backups/b1',
        'backups/b1/manifest.json',
        'backups/b1/manifest.json/inside',
        'staged.txt',
      ]);
    } finally {
      await t.close();
    }
  });

  it('where the host refuses syncfs, fsyncs the listing with the staged file, then publishes the journal', async () => {
    const { root, t, listing } = await setup();
    fs.mkdirSync(path.join(root, 'link-target'));
    fs.symlinkSync('link-target', path.join(root, 'l'));
    try {
      // Every syncfs becomes a record the host refuses (ELOOP: a link on the path).
      const sent = watched(t, (op, rel) => (op === OP_SYNC && rel === '' ? [OP_UNLINK, 'l/x'] : undefined));
      await writeTextAtomicWithPending(t, 'journal.json', 'j\n', [listing]);
      // Then one fsync per file written unsynced: the staged file, the listing, the journal's temporary.
      const fsynced = sent.filter((s) => s.op === OP_SYNC && s.rel !== '').flatMap((s) => s.rel.split('\0'));
      expect(fsynced).toEqual(expect.arrayContaining(['staged.txt', listing.rel]));
      expect(fsynced.some((f) => f.startsWith('journal.json.tmp-'))).toBe(true);
      expect(sent.at(-1)).toMatchObject({ op: OP_RENAME, chained: false });
      expect(fs.readFileSync(path.join(root, listing.rel), 'utf8')).toBe('{"entries":[]}\n');
      expect(fs.readFileSync(path.join(root, 'journal.json'), 'utf8')).toBe('j\n');
      expect(names(root).filter((n) => n.includes('.tmp-'))).toEqual([]);
    } finally {
      await t.close();
    }
  });

  it('when the helper ends under the chain, publishes both again over SFTP, nothing left', async () => {
    const { root, t, listing } = await setup();
    try {
      // Closed as the listing's rename is queued: its temporary file written, then nothing answered.
      await closingHelper(t, (op) => op === OP_RENAME);
      await writeTextAtomicWithPending(t, 'journal.json', 'j\n', [listing]);
      expectBothPublished(root, listing);
    } finally {
      await t.close();
    }
  });
});
