/**
 * Built releases (`deploy --dir`, issue 14) through the real CLI: carbon-app-like
 * folders hashed into git trees, deployed to real local and SSH targets, with a
 * repository and without one (the private object store next to the config).
 */
import {
  chmodSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
  existsSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Report } from '../../src/report/types.js';
import { cli, type CliResult } from '../helpers/cli.js';
import { makeRepo, snapshot } from '../helpers/repo.js';
import { git, tempDir } from '../helpers/git.js';
import { startSshd, sshTargetYaml, type Sshd } from '../helpers/sshd.js';

let sshd: Sshd;
const dirs: string[] = [];
beforeAll(async () => {
  sshd = await startSshd();
});
afterAll(async () => {
  await sshd?.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Bytes git must take as they are: CRLF, NUL, high bytes. */
const CAR = (n: number) =>
  Buffer.concat([Buffer.from(`PK\u0003\u0004 car ${n}\r\n`), Buffer.from([0, 255, 13, 10])]);

/** A build output: .car files, a nested one, an executable, a symlink, a name with a line break. */
function makeBuild(root: string): void {
  const put = (rel: string, data: Buffer | string, mode = 0o644) => {
    const full = join(root, rel);
    mkdirSync(dirname(full), { recursive: true });
    writeFileSync(full, data);
    chmodSync(full, mode);
  };
  put('a.car', CAR(1));
  put('b.car', CAR(2));
  put('nested/c.car', CAR(3));
  put('bin/start.sh', '#!/bin/sh\necho start\n', 0o750);
  put('odd\nname.car', CAR(4));
  symlinkSync('a.car', join(root, 'current.car'));
}

interface Setup {
  ws: string;
  build: string;
  target: string;
  repo: string;
}

function setup(kind: 'local' | 'ssh', withRepo: boolean): Setup {
  const ws = tempDir('diffship-built-');
  dirs.push(ws);
  const build = join(ws, 'build', 'carbonapps');
  makeBuild(build);
  let repo = join(ws, 'not-a-repo');
  mkdirSync(repo);
  if (withRepo) {
    const r = makeRepo();
    dirs.push(r.dir);
    r.commit({ 'README.md': 'source\n' });
    repo = r.dir;
  }
  const target = join(ws, 't', 'a');
  const targetYaml =
    kind === 'local'
      ? ['  - name: a', '    type: local', `    path: ${JSON.stringify(target)}`]
      : sshTargetYaml(sshd, target, 'a');
  writeFileSync(
    join(ws, 'diffship.yml'),
    [
      'mode: authoritative',
      'source: workflows # a folder of the repository: not applied to --dir',
      'defaults:',
      `  activate: { run: 'echo "{release}" >> released.txt' }`,
      'targets:',
      ...targetYaml,
      '',
    ].join('\n'),
  );
  return { ws, build, target, repo };
}

function run(s: Setup, args: string[]): CliResult {
  const [command, ...rest] = args;
  return cli(s.ws, [command!, '--repo', s.repo, '--no-progress', ...rest]);
}

function deployJson(s: Setup, extra: string[] = []): Report {
  const r = run(s, ['deploy', '--dir', 'build/carbonapps', '--json', ...extra]);
  expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
  return JSON.parse(r.stdout) as Report;
}

/** The tree id git itself gives the folder (an independent computation). */
function gitTreeOf(folder: string): string {
  const scratch = tempDir('diffship-tree-');
  dirs.push(scratch);
  git(scratch, 'init', '-q', '--bare', 'x.git');
  const env = ['--git-dir', join(scratch, 'x.git'), '--work-tree', folder];
  git(scratch, ...env, '-c', 'core.autocrlf=false', 'add', '-A');
  return git(scratch, ...env, 'write-tree');
}

function state(s: Setup): { release: string; deployId: string; previousRelease: string | null } {
  return JSON.parse(readFileSync(join(s.target, '.diffship', 'state.json'), 'utf8')) as {
    release: string;
    deployId: string;
    previousRelease: string | null;
  };
}

describe.each([
  ['local', true],
  ['local', false],
  ['ssh', true],
] as const)('deploy --dir (%s target, repository: %s)', (kind, withRepo) => {
  it('ships the folder as git takes it; twice is a no-op; one changed .car moves alone; rollback and status work', () => {
    const s = setup(kind, withRepo);
    const tree1 = gitTreeOf(s.build);

    const first = deployJson(s, ['--release-name', 'build-41']);
    expect(first.to).toBe(tree1);
    expect(first.ref).toBe('build-41');
    expect(first.dir).toBe('build/carbonapps');
    expect(snapshot(s.target)).toEqual(snapshot(s.build));
    expect(lstatSync(join(s.target, 'bin/start.sh')).mode & 0o777).toBe(0o755);
    expect(state(s).release).toBe(tree1);
    expect(readFileSync(join(s.ws, 'released.txt'), 'utf8')).toBe('build-41\n');
    // Without a repository the objects live in one private store next to the config.
    expect(existsSync(join(s.ws, '.diffship-cache', 'objects.git'))).toBe(!withRepo);

    // The same build again: the same tree id, nothing to do.
    const deployId = state(s).deployId;
    const again = deployJson(s);
    expect(again.to).toBe(tree1);
    expect(again.targets[0]!.status).toBe('unchanged');
    expect(again.targets[0]!.bytes).toBe(0);
    expect(state(s).deployId).toBe(deployId);

    // One changed carbon app: only it is written.
    const untouched = lstatSync(join(s.target, 'a.car')).ino;
    const changed = Buffer.concat([CAR(2), Buffer.from('v2')]);
    writeFileSync(join(s.build, 'b.car'), changed);
    const tree2 = gitTreeOf(s.build);
    const third = deployJson(s);
    const t = third.targets[0]!;
    expect(third.to).toBe(tree2);
    expect(t.status).toBe('deployed');
    expect(t.changes).toMatchObject({ added: [], updated: ['b.car'], deleted: [], renamed: [] });
    expect(t.bytes).toBe(changed.length);
    expect(lstatSync(join(s.target, 'a.car')).ino).toBe(untouched);
    expect(readFileSync(join(s.target, 'b.car'))).toEqual(changed);
    expect(state(s).previousRelease).toBe(tree1);

    // status reads the built release from the manifest, drift included.
    const st = cli(s.ws, ['status', '--repo', s.repo, '--json']);
    expect(st.code, st.stderr).toBe(0);
    const info = (JSON.parse(st.stdout) as { targets: { release: string; drift: string[] }[] }).targets[0]!;
    expect(info.release).toBe(tree2);
    expect(info.drift).toEqual([]);
    writeFileSync(join(s.target, 'nested/c.car'), 'edited by hand');
    const drifted = JSON.parse(cli(s.ws, ['status', '--repo', s.repo, '--json']).stdout) as {
      targets: { drift: string[] }[];
    };
    expect(drifted.targets[0]!.drift).toEqual(['nested/c.car']);
    writeFileSync(join(s.target, 'nested/c.car'), CAR(3));

    // Rollback returns to the first build byte for byte.
    const rb = run(s, ['rollback', '--json']);
    expect(rb.code, rb.stderr).toBe(0);
    expect(readFileSync(join(s.target, 'b.car'))).toEqual(CAR(2));
    expect(state(s).release).toBe(tree1);
  }, 120_000);
});

describe('deploy --dir: bad input', () => {
  it('a missing folder, or --dir with --to, is a one-line usage error (exit 2) and the target is not created', () => {
    const s = setup('local', true);
    const missing = run(s, ['deploy', '--dir', 'build/nope']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('--dir "build/nope": no such folder');
    const both = run(s, ['deploy', '--dir', 'build/carbonapps', '--to', 'HEAD']);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('--dir and --to both name the release');
    expect(existsSync(s.target)).toBe(false);
  });
});
