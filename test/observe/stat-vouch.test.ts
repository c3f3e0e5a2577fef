/**
 * An update checks each file it replaces for drift first. The stat cache in the
 * target's manifest (plan/stat-cache.ts) answers for the files diffship left as
 * they were, so they are not read (observe/stat-vouch.ts); an edited one is read
 * and is drift. Real deploys through the built CLI to a real folder and a real
 * sshd, then the next release planned on that folder, counting what the
 * transport is asked to hash.
 */
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from '../helpers/cli.js';
import { hashedPaths, recording } from '../helpers/recording.js';
import { tempDir } from '../helpers/git.js';
import { makeRepo, type Tree } from '../helpers/repo.js';
import { startSshd, sshTargetYaml, type Sshd } from '../helpers/sshd.js';
import { LocalTransport } from '../../src/transport/local/local-transport.js';
import { SshTransport } from '../../src/transport/ssh/ssh-transport.js';
import type { Transport } from '../../src/transport/transport.js';
import { readState } from '../../src/apply/state.js';
import { layout } from '../../src/apply/layout.js';
import { planOnTarget } from '../../src/observe/plan-target.js';
import { manifestEntriesAt } from '../../src/apply/stored-manifest.js';

const R1: Tree = Object.fromEntries(
  Array.from({ length: 12 }, (_, i) => [`flows/f${String(i).padStart(2, '0')}.xml`, `<f n="${i}"/>\n`]),
);
R1['bin/run.sh'] = { content: '#!/bin/sh\necho 1\n', mode: 0o755 };
R1['flows/link'] = { link: 'f00.xml' };
// Past 2,000 paths the plan walks the target instead of looking at each (observe-paths.ts).
const BULK = Array.from({ length: 2_100 }, (_, i) => `bulk/b${i}.txt`);
for (const b of BULK) R1[b] = `${b}\n`;
const CHANGED = ['bin/run.sh', 'flows/f03.xml', 'flows/f07.xml', 'flows/link'];
const R2: Tree = {
  ...R1,
  'bin/run.sh': { content: '#!/bin/sh\necho 2\n', mode: 0o755 },
  'flows/f03.xml': '<f n="3" v="2"/>\n',
  'flows/f07.xml': '<f n="7" v="2"/>\n',
  'flows/link': { link: 'f01.xml' },
  'flows/new.xml': '<new/>\n',
};
const R3: Tree = { ...R2, ...Object.fromEntries(BULK.map((b) => [b, `${b} v3\n`])) };

let sshd: Sshd | undefined;
const repo = makeRepo();
let r1 = '';
let r2 = '';
let r3 = '';
beforeAll(async () => {
  r1 = repo.commit(R1);
  r2 = repo.commit(R2);
  r3 = repo.commit(R3);
  sshd = await startSshd();
}, 60_000);
afterAll(async () => {
  await sshd?.stop();
  repo.cleanup();
});

describe.each(['local', 'ssh'] as const)('an update trusts the stat cache (%s)', (side) => {
  const ws = tempDir(`diffship-vouch-${side}-`);
  const targetDir = join(ws, 'target');

  /** Plan `to` over R1 as a deploy does: what was hashed, and what the plan says. */
  async function plan(to: string, o: { withManifest?: boolean } = {}) {
    const real: Transport =
      side === 'local' ? new LocalTransport(targetDir) : new SshTransport(sshd!.sshOptions(), targetDir);
    await real.connect();
    try {
      const l = layout('.diffship');
      const state = (await readState(real, l))!;
      const { transport: t, calls } = recording(real);
      const p = await planOnTarget(
        {
          transport: t,
          layout: l,
          concurrency: 8,
          objects: null,
          state: o.withManifest === false ? { ...state, manifest: null } : state,
        },
        { repo: repo.dir, to, mode: 'additive', onDrift: 'fail' },
      );
      return { hashed: hashedPaths(calls).sort(), plan: p };
    } catch (error) {
      return { hashed: [], error: (error as Error).message };
    } finally {
      await real.close();
    }
  }

  it(
    'reads none of the files it replaces while their stats match; an edited one is read, and is drift',
    { timeout: 60_000 },
    async () => {
      const target =
        side === 'local' ? ['  - { name: t, path: target }'] : sshTargetYaml(sshd!, targetDir, 't');
      writeFileSync(join(ws, 'diffship.yml'), ['waves: [1]', 'targets:', ...target, ''].join('\n'));
      const first = cli(ws, ['deploy', '--repo', repo.dir, '--to', r1, '--no-progress']);
      expect(first.code, first.stderr).toBe(0);
      // The deploy recorded a stat for each file (else nothing below would be vouched for).
      const l = layout('.diffship');
      const local = new LocalTransport(targetDir);
      await local.connect();
      const recorded = manifestEntriesAt((await readState(local, l))!.manifest!, CHANGED)!;
      await local.close();
      expect([...recorded.keys()].sort()).toEqual(CHANGED);
      for (const e of recorded.values()) expect(e.stat, e.path).toBeDefined();

      const clean = await plan(r2);
      expect(clean.error).toBeUndefined();
      expect(clean.hashed).toEqual([]);
      expect(clean.plan!.writes.map((w) => w.path).sort()).toEqual([...CHANGED, 'flows/new.xml'].sort());
      const many = await plan(r3);
      expect(many.error).toBeUndefined();
      expect(many.hashed).toEqual([]);
      expect(many.plan!.writes).toHaveLength(CHANGED.length + 1 + BULK.length);

      // Control: without the manifest, every file the update replaces is read.
      const uncached = await plan(r2, { withManifest: false });
      expect(uncached.error).toBeUndefined();
      expect(uncached.hashed).toEqual(CHANGED);
      expect((await plan(r3, { withManifest: false })).hashed).toHaveLength(CHANGED.length + BULK.length);

      appendFileSync(join(targetDir, 'flows/f07.xml'), '<!-- edited by hand -->\n');
      for (const to of [r2, r3]) {
        const edited = await plan(to);
        expect(edited.hashed).toEqual(['flows/f07.xml']);
        expect(edited.plan!.drift.map((d) => d.path)).toEqual(['flows/f07.xml']);
        expect(edited.plan!.blocked?.code).toBe('E_DRIFT');
      }
    },
  );
});
