/**
 * Deploys from a shallow clone, as GitHub's checkout makes them (--depth=1):
 * the release a target holds, or the one asked for, may be missing until
 * diffship fetches it by itself. The rollout's long-lived `git cat-file`
 * process starts before such a fetch and must still see what it brought.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRepo, type TestRepo } from '../diff/git-repo.js';
import { git, tempDir } from '../helpers/git.js';
import { cli } from '../helpers/cli.js';

describe('deploy from a shallow clone', () => {
  let origin: TestRepo;
  let work: string;
  let target: string;
  const sha: string[] = [];

  beforeAll(() => {
    origin = createRepo();
    origin.write({ 'app/a.json': '1\n', 'app/b.json': 'b\n' });
    sha.push(origin.commit());
    git(origin.dir, 'tag', 'v1');
    origin.write({ 'app/a.json': '2\n', 'app/c.json': 'c2\n' });
    sha.push(origin.commit());
    git(origin.dir, 'tag', '-a', '-m', 'second', 'v2');
    origin.write({ 'app/a.json': '3\n', 'app/c.json': 'c3\n', 'app/d.json': 'd\n' });
    sha.push(origin.commit());
    work = tempDir();
    target = join(work, 'target');
  });
  afterAll(() => {
    origin.cleanup();
    rmSync(work, { recursive: true, force: true });
  });

  /** A fresh --depth=1 clone of `ref`, with a diffship.yml shipping app/ to the target. */
  function shallowClone(name: string, ref: string): string {
    const dir = join(work, name);
    git(work, 'clone', '-q', '--depth=1', '--no-tags', '--branch', ref, `file://${origin.dir}`, dir);
    writeFileSync(join(dir, 'diffship.yml'), `source: app\ntargets:\n  - name: t\n    path: ${target}\n`);
    return dir;
  }
  const read = (name: string) => readFileSync(join(target, name), 'utf8');

  it('deploys the checked-out release, then a newer clone fetches the release the target holds', () => {
    git(origin.dir, 'branch', '-f', 'at-v1', sha[0]!);
    const first = shallowClone('first', 'at-v1');
    const r1 = cli(first, ['deploy', '--to', 'HEAD', '--no-progress']);
    expect(r1.code, r1.stderr).toBe(0);
    expect(read('a.json')).toBe('1\n');

    // The target holds v1; this clone has only the newest commit.
    const second = shallowClone('second', 'main');
    expect(() => git(second, 'cat-file', '-e', `${sha[0]}^{commit}`)).toThrow();
    const r2 = cli(second, ['deploy', '--to', 'HEAD', '--no-progress']);
    expect(r2.code, r2.stderr).toBe(0);
    expect([read('a.json'), read('c.json'), read('d.json')]).toEqual(['3\n', 'c3\n', 'd\n']);
    expect(JSON.parse(read('.diffship/state.json')).release).toBe(sha[2]);
  });

  it('fetches a --to tag the clone lacks and ships its files', () => {
    const third = shallowClone('third', 'main');
    const r = cli(third, ['deploy', '--to', 'v2', '--no-progress', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ to: sha[1], status: 'succeeded' });
    expect([read('a.json'), read('c.json')]).toEqual(['2\n', 'c2\n']);
    // v2 lacks d.json; additive mode (the default) keeps it.
    expect(read('d.json')).toBe('d\n');
  });
});
