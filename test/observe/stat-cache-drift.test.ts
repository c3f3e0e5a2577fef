/**
 * drift-scope: all and status observe every file of the recorded release; the
 * stat cache in the target's manifest (git's index rule) answers the files
 * nobody touched without reading them. A real deploy through the built CLI,
 * then the observation on the real folder, counting what it hashes.
 */
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli } from '../helpers/cli.js';
import { hashedPaths, recording } from '../helpers/recording.js';
import { tempDir } from '../helpers/git.js';
import { makeRepo } from '../helpers/repo.js';
import { LocalTransport } from '../../src/transport/local/local-transport.js';
import { readState } from '../../src/apply/state.js';
import { layout } from '../../src/apply/layout.js';
import { observeRecorded } from '../../src/observe/observe-drift.js';
import { driftAmong } from '../../src/plan/drift.js';

const repo = makeRepo();
const ws = tempDir('diffship-statcache-');
afterAll(() => repo.cleanup());

async function observe(withStatePath: boolean) {
  const real = new LocalTransport(join(ws, 'target'));
  await real.connect();
  try {
    const l = layout('.diffship');
    const state = (await readState(real, l))!;
    const { transport: t, calls } = recording(real);
    const { expected, observed } = await observeRecorded(t, null, {
      repo: repo.dir,
      release: state.release,
      kept: state.kept,
      files: state.manifest!.files,
      ...(withStatePath ? { statePath: l.state } : {}),
    });
    return { hashed: hashedPaths(calls).sort(), drift: driftAmong(expected, observed).map((d) => d.path) };
  } finally {
    await real.close();
  }
}

describe('the stat cache', () => {
  it('vouches for untouched files (none hashed); an edited file is hashed and is drift', async () => {
    const files = Object.fromEntries(
      Array.from({ length: 20 }, (_, i) => [`flows/f${i}.xml`, `<f n="${i}"/>\n`]),
    );
    repo.commit(files);
    writeFileSync(join(ws, 'diffship.yml'), `waves: [1]\ntargets:\n  - { name: t, path: target }\n`);
    const r = cli(ws, ['deploy', '--repo', repo.dir, '--to', 'HEAD', '--no-progress']);
    expect(r.code, r.stderr).toBe(0);

    const clean = await observe(true);
    expect(clean.hashed).toEqual([]);
    expect(clean.drift).toEqual([]);

    // Control: without the state file's time there is no racy line, so every file is hashed.
    const uncached = await observe(false);
    expect(uncached.hashed).toHaveLength(20);

    appendFileSync(join(ws, 'target/flows/f7.xml'), '<!-- edited by hand -->\n');
    const edited = await observe(true);
    expect(edited.hashed).toEqual(['flows/f7.xml']);
    expect(edited.drift).toEqual(['flows/f7.xml']);
  });
});
