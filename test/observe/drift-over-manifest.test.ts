/**
 * `status` reads the target's manifest a batch at a time (driftOverManifest):
 * the same drift, in the same order, as the whole-manifest observation
 * (observeRecorded, then driftAmong), and no batch of lstats or hashes larger
 * than the batch. A real deploy through the built CLI, real hand edits.
 */
import { appendFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli } from '../helpers/cli.js';
import { recording } from '../helpers/recording.js';
import { tempDir } from '../helpers/git.js';
import { makeRepo } from '../helpers/repo.js';
import { LocalTransport } from '../../src/transport/local/local-transport.js';
import { readState } from '../../src/apply/state.js';
import { layout } from '../../src/apply/layout.js';
import { driftOverManifest, observeRecorded } from '../../src/observe/observe-drift.js';
import { driftAmong } from '../../src/plan/drift.js';

const repo = makeRepo();
const ws = tempDir('diffship-drift-batches-');
afterAll(() => repo.cleanup());

const deploy = () => {
  const r = cli(ws, ['deploy', '--repo', repo.dir, '--to', 'HEAD', '--no-progress']);
  expect(r.code, r.stderr).toBe(0);
};

/** Both observations of the target as it is now; the batched one through a recording transport. */
async function bothWays(batch: number) {
  const t = new LocalTransport(join(ws, 'target'));
  await t.connect();
  try {
    const l = layout('.diffship');
    const state = (await readState(t, l))!;
    const r = { repo: repo.dir, release: state.release, kept: state.kept, statePath: l.state };
    const whole = await observeRecorded(t, null, { ...r, files: state.manifest!.files });
    const { transport, calls } = recording(t);
    const batched = await driftOverManifest(transport, state.manifest!, r, batch);
    return {
      whole: driftAmong(whole.expected, whole.observed).map((d) => d.path),
      batched,
      kept: state.kept.map((k) => k.path),
      asked: calls.filter((c) => c.op === 'statExactMany' || c.op === 'hashFiles').map((c) => c.paths!),
    };
  } finally {
    await t.close();
  }
}

const files = Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`f/${i}.xml`, `<f n="${i}"/>\n`]));

describe('status over the manifest, a batch at a time', () => {
  it('finds the drift the whole-manifest look finds, in its order, across batch edges and kept files', async () => {
    repo.commit({ ...files, 'gone.json': '{}\n', 'z-gone.json': '{}\n' });
    writeFileSync(join(ws, 'diffship.yml'), `waves: [1]\ntargets:\n  - { name: t, path: target }\n`);
    deploy();
    // Additive mode leaves the files a release deletes in place and remembers them as kept.
    repo.commit(files);
    deploy();

    const clean = await bothWays(3);
    expect(clean.kept.sort()).toEqual(['gone.json', 'z-gone.json']);
    expect(clean.whole).toEqual([]);
    expect(clean.batched).toEqual([]);

    // Edits in the first batch, a middle one and the last; a file gone, one now a folder; a kept one edited.
    appendFileSync(join(ws, 'target/f/0.xml'), 'edited\n');
    rmSync(join(ws, 'target/f/4.xml'));
    rmSync(join(ws, 'target/f/9.xml'));
    mkdirSync(join(ws, 'target/f/9.xml'));
    appendFileSync(join(ws, 'target/z-gone.json'), 'edited\n');
    const edited = await bothWays(3);
    expect(edited.whole).toEqual(['f/0.xml', 'f/4.xml', 'f/9.xml', 'z-gone.json']);
    expect(edited.batched).toEqual(edited.whole);
    // Never more than a batch of paths asked at once, and the manifest took several batches.
    expect(edited.asked.length).toBeGreaterThan(3);
    expect(Math.max(...edited.asked.map((p) => p.length))).toBeLessThanOrEqual(3);
  });

  it('diffship status reports the same drift on a target whose manifest spans two default batches (4,096 lines each)', async () => {
    const many = Object.fromEntries(Array.from({ length: 4200 }, (_, i) => [`m/${i}.txt`, `${i}\n`]));
    repo.commit({ ...files, ...many });
    deploy();
    appendFileSync(join(ws, 'target/m/10.txt'), 'x');
    appendFileSync(join(ws, 'target/m/4199.txt'), 'x');
    const r = cli(ws, ['status', '--repo', repo.dir, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const { targets } = JSON.parse(r.stdout) as { targets: Array<{ drift: string[] }> };
    expect(targets[0]!.drift).toEqual([
      'f/0.xml',
      'f/4.xml',
      'f/9.xml',
      'm/10.txt',
      'm/4199.txt',
      'z-gone.json',
    ]);
  }, 60_000);
});
