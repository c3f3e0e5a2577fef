/**
 * `units.reveal: unit` over SSH: a unit's new version is built beside the live one (its
 * unchanged files hard-linked, its new files renamed in) a pass at a time, not file after file.
 * A real sshd, the deploy made through the API; every helper record is watched
 * (helper-records.ts `watchedEvery`) to count how often the deploy waited for the host, and the
 * target is compared file by file with the release after it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deploy } from '../../src/api.js';
import { resolveConfig } from '../../src/config/resolve.js';
import { sshTargetConfig, startSshd, type Sshd } from '../helpers/sshd.js';
import { tempDir } from '../helpers/git.js';
import { makeRepo, type Tree } from '../helpers/repo.js';
import { waits, watchedEvery } from '../helpers/helper-records.js';
import { filesUnder } from '../helpers/target-files.js';

let sshd: Sshd;
let base: string;
beforeAll(async () => {
  sshd = await startSshd();
  base = fs.realpathSync(tempDir('diffship-ssh-units-'));
});
afterAll(async () => {
  await sshd?.stop();
  fs.rmSync(base, { recursive: true, force: true });
});

describe('reveal: unit over SSH', () => {
  it('builds a 150-file unit beside the live one in a few waits: 3 files changed, the unit exact', async () => {
    const target = path.join(base, 't');
    fs.mkdirSync(target);
    const config = resolveConfig(
      {
        mode: 'authoritative',
        units: { match: 'packages/*', reveal: 'unit' },
        targets: [{ name: 't', ...sshTargetConfig(sshd, target) }],
      },
      { baseDir: base },
    );
    // Package P: 150 files in 5 folders; Q: one file. v2 changes 3 of P's files.
    const v1: Tree = { 'packages/Q/manifest.v3': 'q\n', 'packages/P/manifest.v3': 'p 1\n' };
    for (let i = 0; i < 150; i++) v1[`packages/P/ns/s${i % 5}/f${i}.json`] = `{"f":${i}}\n`;
    const v2: Tree = { ...v1, 'packages/P/manifest.v3': 'p 2\n' };
    for (const i of [7, 70, 140]) v2[`packages/P/ns/s${i % 5}/f${i}.json`] = `{"f":${i},"v":2}\n`;
    const repo = makeRepo();
    try {
      const first = await deploy({ config, repo: repo.dir, to: repo.commit(v1) });
      expect(first.status).toBe('succeeded');
      const watch = watchedEvery();
      let r;
      try {
        r = await deploy({ config, repo: repo.dir, to: repo.commit(v2) });
      } finally {
        watch.stop();
      }
      expect(r.status, JSON.stringify(r.targets[0]?.error)).toBe('succeeded');
      expect(r.targets[0]!.steps.find((s) => s.name === 'apply')!.detail).toMatch(
        /units swapped: packages\/P/,
      );
      expect(filesUnder(target)).toEqual(v2);
      // 147 files hard-linked and 5 folders made one after another, then the renames: 185 waits
      // for the deploy; a pass at a time 27.
      expect(waits(watch.sent)).toBeLessThan(50);
    } finally {
      repo.cleanup();
    }
  });
});
