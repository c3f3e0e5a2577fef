/**
 * The library's built releases and plan bases (issue 14): `deploy({ dir })`,
 * `plan({ dir })` and `deploy({ assumeEmpty })` on real folders, no repository
 * at all (the private object store next to the config).
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { deploy, loadConfig, plan } from '../../src/index.js';
import { tempDir } from '../helpers/git.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('library: built releases', () => {
  it('plan and deploy a folder without a repository; again is unchanged; assumeEmpty redeploys', async () => {
    const ws = tempDir('diffship-api-built-');
    dirs.push(ws);
    const build = join(ws, 'out');
    mkdirSync(build);
    writeFileSync(join(build, 'app.car'), 'car v1');
    writeFileSync(join(ws, 'diffship.yml'), 'targets:\n  - name: a\n    path: t\n');
    const config = await loadConfig(join(ws, 'diffship.yml'));
    const repo = join(ws, 'no-repo');
    mkdirSync(repo);

    const p = await plan({ config, repo, dir: build, releaseName: 'r1' });
    expect(p.status).toBe('planned');
    expect(p.targets[0]!.changes.added).toEqual(['app.car']);
    expect(p.ref).toBe('r1');

    const d = await deploy({ config, repo, dir: build });
    expect(d.status).toBe('succeeded');
    expect(d.to).toBe(p.to);
    expect(readFileSync(join(ws, 't', 'app.car'), 'utf8')).toBe('car v1');

    const again = await deploy({ config, repo, dir: build });
    expect(again.targets[0]!.status).toBe('unchanged');

    writeFileSync(join(ws, 't', 'app.car'), 'edited on the host');
    const full = await deploy({ config, repo, dir: build, assumeEmpty: true });
    expect(full.targets[0]!.note).toContain('--assume-empty');
    expect(full.targets[0]!.changes.drift).toEqual([]);
    expect(readFileSync(join(ws, 't', 'app.car'), 'utf8')).toBe('car v1');
  });
});
