/**
 * Releases git doesn't know (issue 14), through the real CLI on real
 * repositories and real local and SSH targets: history rewritten and garbage
 * collected after a deploy (planned from the manifest), a state with neither
 * commit nor manifest (exit 2, nothing written), and a state from before
 * manifests (upgraded).
 */
import {
  chmodSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Report } from '../../src/report/types.js';
import { cli, type CliResult } from '../helpers/cli.js';
import { makeRepo, snapshot, type SnapEntry, type Tree } from '../helpers/repo.js';
import { git, tempDir } from '../helpers/git.js';
import { startSshd, sshTargetYaml, type Sshd } from '../helpers/sshd.js';
import { recordedFiles } from '../helpers/manifest.js';

const V0: Tree = { 'wf/base.json': 'base\n' };
const V1: Tree = {
  'wf/a.car': 'a1\n',
  'wf/b.car': 'b1\n',
  'wf/gone.car': 'gone\n',
  'wf/run.sh': { content: 'echo 1\n', mode: 0o755 },
  'wf/sub/c.car': 'c1\n',
  'wf/link': { link: 'a.car' },
};
/** The rewritten release: one file changed, one gone, one new, a mode and a link changed. */
const V2: Tree = {
  'wf/a.car': 'a2 rewritten\n',
  'wf/b.car': 'b1\n',
  'wf/run.sh': { content: 'echo 1\n', mode: 0o644 },
  'wf/sub/c.car': 'c1\n',
  'wf/sub/new.car': 'new\n',
  'wf/link': { link: 'b.car' },
};

function releaseTree(tree: Tree, source = 'wf/'): Record<string, SnapEntry> {
  const out: Record<string, SnapEntry> = {};
  for (const [path, spec] of Object.entries(tree)) {
    if (!path.startsWith(source)) continue;
    const rel = path.slice(source.length);
    const parts = rel.split('/');
    for (let i = 1; i < parts.length; i++) out[parts.slice(0, i).join('/')] = { type: 'dir' };
    if (typeof spec === 'string') out[rel] = { type: 'file', content: spec, exec: false };
    else if ('link' in spec) out[rel] = { type: 'symlink', content: spec.link };
    else out[rel] = { type: 'file', content: spec.content, exec: ((spec.mode ?? 0o644) & 0o111) !== 0 };
  }
  return out;
}

let sshd: Sshd;
const dirs: string[] = [];
beforeAll(async () => {
  sshd = await startSshd();
});
afterAll(async () => {
  await sshd?.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

interface Setup {
  ws: string;
  repo: string;
  target: string;
  v1: string;
}

/** A repository at v1 (tag v1 on top of v0) and a workspace with one target, local or ssh. */
function setup(kind: 'local' | 'ssh', mode: string): Setup {
  const r = makeRepo();
  dirs.push(r.dir);
  r.commit(V0, 'v0');
  const v1 = r.commit(V1, 'v1');
  git(r.dir, 'tag', 'v1');
  const ws = tempDir('diffship-manifest-');
  dirs.push(ws);
  const target = join(ws, 't', 'a');
  const targetYaml =
    kind === 'local'
      ? ['  - name: a', '    type: local', `    path: ${JSON.stringify(target)}`]
      : sshTargetYaml(sshd, target, 'a');
  writeFileSync(
    join(ws, 'diffship.yml'),
    ['source: wf', `mode: ${mode}`, 'targets:', ...targetYaml, ''].join('\n'),
  );
  return { ws, repo: r.dir, target, v1 };
}

/** Rewrite history as a force-push would: v1 gone from every ref, the reflog and the object store. */
function rewriteHistory(repo: string, v1: string): string {
  git(repo, 'reset', '-q', '--hard', 'HEAD~1');
  git(repo, 'tag', '-d', 'v1');
  for (const name of readdirSync(repo)) if (name !== '.git') rmSync(join(repo, name), { recursive: true });
  writeTree(repo, V2);
  git(repo, 'commit', '-q', '-m', 'v2 (rewritten)');
  git(repo, 'tag', 'v2');
  git(repo, 'reflog', 'expire', '--expire=now', '--all');
  git(repo, 'gc', '-q', '--prune=now');
  expect(() => git(repo, 'cat-file', '-e', `${v1}^{commit}`)).toThrow();
  return git(repo, 'rev-parse', 'HEAD');
}

/** Write `tree` into the worktree (over what is there) and stage everything. */
function writeTree(repo: string, tree: Tree): void {
  for (const [path, spec] of Object.entries(tree)) {
    const full = join(repo, path);
    mkdirSync(dirname(full), { recursive: true });
    rmSync(full, { force: true });
    if (typeof spec === 'string') writeFileSync(full, spec);
    else if ('link' in spec) symlinkSync(spec.link, full);
    else {
      writeFileSync(full, spec.content);
      chmodSync(full, spec.mode ?? 0o644);
    }
  }
  git(repo, 'add', '-A');
}

/** A fresh clone of the rewritten repository, as CI would make it (shallow, as actions/checkout does). */
function freshClone(repo: string, shallow: boolean): string {
  const dir = tempDir('diffship-clone-');
  dirs.push(dir);
  if (shallow) git(dir, 'clone', '-q', '--depth=1', `file://${repo}`, 'c');
  else git(dir, 'clone', '-q', '--no-local', repo, 'c');
  return join(dir, 'c');
}

function run(s: Setup, repo: string, args: string[]): CliResult {
  const [command, ...rest] = args;
  return cli(s.ws, [command!, '--repo', repo, '--no-progress', ...rest]);
}

function json(r: CliResult): Report {
  try {
    return JSON.parse(r.stdout) as Report;
  } catch {
    throw new Error(`no JSON report (exit ${r.code}): ${r.stdout}\n${r.stderr}`);
  }
}

function state(s: Setup): Record<string, unknown> {
  return JSON.parse(readFileSync(join(s.target, '.diffship', 'state.json'), 'utf8')) as Record<
    string,
    unknown
  >;
}

/** Every byte below the target, the state folder included. */
function everything(dir: string): Record<string, SnapEntry> {
  return snapshot(dir, []);
}

describe.each(['local', 'ssh'] as const)('history rewritten after a deploy (%s target)', (kind) => {
  it.each(['authoritative', 'additive'])(
    '%s: plan and deploy from the manifest; the target equals the new release byte for byte',
    (mode) => {
      const s = setup(kind, mode);
      expect(run(s, s.repo, ['deploy', '--to', 'v1']).code).toBe(0);
      expect(snapshot(s.target)).toEqual(releaseTree(V1));
      const recorded = state(s);
      expect(recorded.version).toBe(3);
      expect(recordedFiles(s.target)).toHaveLength(6);

      const v2 = rewriteHistory(s.repo, s.v1);
      // The shallow clone tries to fetch the recorded commit first; origin no longer has it either.
      const clone = freshClone(s.repo, kind === 'local');
      if (kind === 'local') expect(git(clone, 'rev-parse', '--is-shallow-repository')).toBe('true');
      const note = `planned from the manifest: release ${s.v1} is not in this repository`;

      const planned = run(s, clone, ['plan', '--to', 'v2', '--json']);
      expect(planned.code, planned.stderr).toBe(0);
      const p = json(planned).targets[0]!;
      expect(p.note).toBe(note);
      expect(p.changes.updated.sort()).toEqual(['a.car', 'link', 'run.sh']);
      expect(p.changes.added).toEqual(['sub/new.car']);
      // Additive mode keeps what the release deleted (reported as kept, not deleted).
      expect(mode === 'additive' ? p.changes.kept : p.changes.deleted).toEqual(['gone.car']);
      expect(p.changes.drift).toEqual([]);
      expect(snapshot(s.target)).toEqual(releaseTree(V1)); // plan wrote nothing

      const human = run(s, clone, ['deploy', '--to', 'v2']);
      expect(human.code, human.stderr).toBe(0);
      expect(human.stderr).toContain(note);
      expect(human.stdout).toContain(`a: ${note}`);
      const want = releaseTree(V2);
      if (mode === 'additive') want['gone.car'] = { type: 'file', content: 'gone\n', exec: false };
      expect(snapshot(s.target)).toEqual(want);
      expect(state(s).release).toBe(v2);
      expect(state(s).previousRelease).toBe(s.v1);

      // The next deploy has its commit again: an ordinary, empty plan.
      const again = json(run(s, clone, ['deploy', '--to', 'v2', '--json']));
      expect(again.targets[0]!.status).toBe('unchanged');
      expect(again.targets[0]!.note).toBeUndefined();
    },
    120_000,
  );
});

describe('neither the recorded commit nor a manifest', () => {
  it.each(['local', 'ssh'] as const)(
    '%s: exit 2 naming the release and the fixes, nothing written; --assume-empty redeploys in full',
    (kind) => {
      const s = setup(kind, 'authoritative');
      expect(run(s, s.repo, ['deploy', '--to', 'v1']).code).toBe(0);
      // A state as diffship wrote it before manifests.
      const old = state(s);
      delete old.manifest;
      old.version = 1;
      writeFileSync(join(s.target, '.diffship', 'state.json'), JSON.stringify(old, null, 2));
      rewriteHistory(s.repo, s.v1);
      const before = everything(s.target);

      const r = run(s, s.repo, ['deploy', '--to', 'v2']);
      expect(r.code).toBe(2);
      const text = r.stdout + r.stderr;
      expect(text).toContain(`recorded release ${s.v1} is not in this repository`);
      expect(text).toContain(`git fetch origin ${s.v1}`);
      expect(text).toContain('--assume-empty');
      expect(text).toContain('--from-manifest');
      expect(text).not.toContain('is not a commit');
      expect(everything(s.target)).toEqual(before);

      // status says what happened and what to do, instead of failing on a "to ref".
      const st = cli(s.ws, ['status', '--repo', s.repo, '--json']);
      expect(st.code, st.stderr).toBe(0);
      const info = (JSON.parse(st.stdout) as { targets: Record<string, unknown>[] }).targets[0]!;
      expect(info.error).toBeNull();
      expect(info.driftChecked).toBe(false);
      expect(String(info.note)).toContain(`release ${s.v1} is not in this repository`);
      expect(String(info.note)).toContain('--assume-empty');

      const full = run(s, s.repo, ['deploy', '--to', 'v2', '--assume-empty', '--json']);
      expect(full.code, full.stderr).toBe(0);
      expect(json(full).targets[0]!.note).toContain('--assume-empty');
      expect(snapshot(s.target)).toEqual(releaseTree(V2));
      expect(recordedFiles(s.target)).toHaveLength(6);
    },
    120_000,
  );
});

describe('a state from before manifests', () => {
  it('is read, and the next deploy records the manifest (with stats on the local target)', () => {
    const s = setup('local', 'additive');
    expect(run(s, s.repo, ['deploy', '--to', 'v1']).code).toBe(0);
    const old = state(s);
    delete old.manifest;
    old.version = 1;
    writeFileSync(join(s.target, '.diffship', 'state.json'), JSON.stringify(old, null, 2));

    // Same release, no file to touch: the state still gets its manifest.
    const same = run(s, s.repo, ['deploy', '--to', 'v1', '--json']);
    expect(same.code, same.stderr).toBe(0);
    const upgraded = state(s);
    expect(upgraded.version).toBe(3);
    expect(upgraded.release).toBe(s.v1);
    expect(upgraded.previousRelease).toBe(old.previousRelease);
    const files = recordedFiles(s.target)!;
    const lsTree = git(s.repo, 'ls-tree', '-r', 'v1', '--', 'wf')
      .split('\n')
      .map((l) => {
        const [meta, path] = l.split('\t');
        const [mode, , blob] = meta!.split(' ');
        return { path: path!.slice(3), blob, mode };
      });
    expect(files.map(({ path, blob, mode }) => ({ path, blob, mode }))).toEqual(lsTree);

    // A changed file gets a fresh exact stat after it is renamed into place; unchanged ones carry theirs.
    writeTree(s.repo, { 'wf/a.car': 'a3\n' });
    git(s.repo, 'commit', '-q', '-m', 'v1.1');
    expect(run(s, s.repo, ['deploy', '--to', 'HEAD']).code).toBe(0);
    const next = recordedFiles(s.target)!;
    const a = next.find((f) => f.path === 'a.car')!;
    const st = lstatSync(join(s.target, 'a.car'), { bigint: true });
    expect(a.stat?.ino).toBe(st.ino.toString());
    expect(a.stat?.mtimeNs).toBe(st.mtimeNs.toString());
    // b.car was not written in either deploy after the upgrade: no stat was ever taken for it.
    expect(next.find((f) => f.path === 'b.car')!.stat).toBeUndefined();
  });
});

describe('the manifest as hostile input, and --from-manifest', () => {
  it('a tampered manifest stops the deploy with E_STATE (exit 2) naming the file; nothing is written', () => {
    const s = setup('local', 'authoritative');
    expect(run(s, s.repo, ['deploy', '--to', 'v1']).code).toBe(0);
    const ref = state(s).manifestFile as { file: string };
    const file = join(s.target, '.diffship', 'manifests', ref.file);
    writeFileSync(file, readFileSync(file, 'utf8').replace('\ta.car\n', '\t../../outside.car\n'));
    const before = everything(s.target);
    const r = run(s, s.repo, ['deploy', '--to', 'v1~0', '--json']);
    expect(r.code).toBe(2);
    const t = json(r).targets[0]!;
    expect(t.errorCode).toBe('E_STATE');
    expect(t.error).toContain(`.diffship/manifests/${ref.file}: the manifest is not the one the state names`);
    expect(everything(s.target)).toEqual(before);
  });

  it('--from-manifest plans from the manifest although the commit is known, and says so', () => {
    const s = setup('local', 'authoritative');
    expect(run(s, s.repo, ['deploy', '--to', 'v1']).code).toBe(0);
    writeTree(s.repo, { 'wf/a.car': 'a from manifest\n' });
    git(s.repo, 'commit', '-q', '-m', 'v1.1');
    const r = run(s, s.repo, ['deploy', '--to', 'HEAD', '--from-manifest', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const t = json(r).targets[0]!;
    expect(t.note).toBe(`planned from the manifest (--from-manifest): release ${s.v1} was not used`);
    expect(t.changes.updated).toEqual(['a.car']);
    expect(readFileSync(join(s.target, 'a.car'), 'utf8')).toBe('a from manifest\n');
    const both = run(s, s.repo, ['deploy', '--from-manifest', '--assume-empty']);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('--from-manifest and --assume-empty contradict each other');
  });
});

describe('a commit and a built folder in turn', () => {
  it('plans from the manifest both ways (a commit is diffed from source, a build from its root)', () => {
    const s = setup('local', 'additive');
    expect(run(s, s.repo, ['deploy', '--to', 'v1']).code).toBe(0);
    const build = join(s.ws, 'build');
    mkdirSync(join(build, 'sub'), { recursive: true });
    writeFileSync(join(build, 'a.car'), 'a built\n');
    writeFileSync(join(build, 'sub', 'c.car'), 'c1\n');

    const built = run(s, s.repo, ['deploy', '--dir', 'build', '--json']);
    expect(built.code, built.stderr).toBe(0);
    const t = json(built).targets[0]!;
    expect(t.note).toBe(
      `planned from the manifest: release ${s.v1} and this one are not both commits or both built folders`,
    );
    expect(t.changes.updated).toEqual(['a.car']);
    expect(t.changes.added).toEqual([]);
    expect(t.changes.kept.sort()).toEqual(['b.car', 'gone.car', 'link', 'run.sh']);
    expect(readFileSync(join(s.target, 'a.car'), 'utf8')).toBe('a built\n');

    const back = run(s, s.repo, ['deploy', '--to', 'v1', '--json']);
    expect(back.code, back.stderr).toBe(0);
    expect(json(back).targets[0]!.changes.updated).toEqual(['a.car']);
    expect(snapshot(s.target)).toEqual(releaseTree(V1));
  });
});
