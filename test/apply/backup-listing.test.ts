/**
 * Every deploy's recovery asks which backups are incomplete (a run cut before its
 * journal). It lists the backups folder once for that, not once per question: in a
 * fleet each listing is a threadpool round trip on every target.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { backupsOnTarget } from '../../src/apply/backup.js';
import { layout } from '../../src/apply/layout.js';
import { LocalTransport } from '../../src/transport/local/local-transport.js';
import { tempDir } from '../helpers/git.js';

describe('backupsOnTarget', () => {
  it('finds the backups without a manifest with one listing of the backups folder', async () => {
    const root = tempDir('diffship-backup-listing-');
    const complete = '20261202T035921952Z-5acdf1';
    const cut = '20261202T035934095Z-945175';
    for (const id of [complete, cut])
      mkdirSync(join(root, '.diffship/backups', id, 'files'), { recursive: true });
    writeFileSync(join(root, '.diffship/backups', complete, 'manifest.json'), '{}');
    writeFileSync(join(root, '.diffship/backups/not-a-deploy-id'), 'x'); // never diffship's
    const t = new LocalTransport(root);
    await t.connect();
    const listed: string[] = [];
    const readdir = t.readdir.bind(t);
    t.readdir = async (rel) => {
      listed.push(rel);
      return readdir(rel);
    };
    expect((await backupsOnTarget(t, layout('.diffship'))).incomplete).toEqual([cut]);
    expect(listed).toEqual(['.diffship/backups']);
  });
});
