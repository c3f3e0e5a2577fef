/**
 * The change file hooks get as DIFFSHIP_CHANGES is made only for a target whose deploy runs
 * something that can read it: a deploy with no hook, check or unit makes no scratch folder (a
 * temp folder that cannot be made does not stop it), and one with a hook still gets the file.
 * The built CLI, a real repository, a local target folder.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeRepo } from '../helpers/repo.js';
import { oneTarget } from '../helpers/one-target.js';
import { tempDir } from '../helpers/git.js';
import { cli } from '../helpers/cli.js';

const repo = makeRepo();
afterAll(() => repo.cleanup());
const v1 = repo.commit({ 'a.txt': 'one\n', 'b.txt': 'two\n' });
const v2 = repo.commit({ 'a.txt': 'one, changed\n', 'c.txt': 'three\n' });

/** TMPDIR names a plain file: making a scratch folder there fails (ENOTDIR), for root too. */
function unusableTmp(): NodeJS.ProcessEnv {
  const file = join(tempDir('diffship-no-tmp-'), 'a-file');
  writeFileSync(file, '');
  return { TMPDIR: file };
}

const deploy = (ws: string, to: string, env: NodeJS.ProcessEnv = {}) =>
  cli(ws, ['deploy', '--repo', repo.dir, '--to', to, '--no-progress'], env);

describe('the DIFFSHIP_CHANGES file', () => {
  it('is not made for a deploy that runs no hook, check or unit: no temp folder needed', () => {
    const t = oneTarget('local', undefined, repo.dir, []);
    expect(deploy(t.ws, v1).code).toBe(0);
    const r = deploy(t.ws, v2, unusableTmp());
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(readFileSync(join(t.targetDir, 'c.txt'), 'utf8')).toBe('three\n');
  });

  it('is made for a deploy with a hook, which reads it (and fails where it cannot be made)', () => {
    const t = oneTarget('local', undefined, repo.dir, [
      'defaults:',
      '  after: { run: \'cp "$DIFFSHIP_CHANGES" changes-seen.json\' }',
    ]);
    expect(deploy(t.ws, v1).code).toBe(0);
    expect(deploy(t.ws, v2).code).toBe(0);
    const seen = JSON.parse(readFileSync(join(t.ws, 'changes-seen.json'), 'utf8')) as {
      from: string;
      to: string;
    };
    expect([seen.from, seen.to]).toEqual([v1, v2]);
    expect(deploy(t.ws, v1, unusableTmp()).code).not.toBe(0);
  });
});
