/**
 * Authoritative plans without listing the release (observe/manifest-release.ts):
 * with a trusted manifest and the diff from its release, the release's files are
 * the manifest's plus the diff's, so no `git diff-tree` from the empty tree runs.
 * Each case deploys for real (the built CLI, a real repository and folder), changes
 * the target by hand, then plans the next release twice on that folder: as a
 * deploy does (the manifest basis) and with the state's recorded selection taken
 * away (which makes the plan list the release, as before): both plans must agree.
 * git runs through a shim on PATH that writes down each tree pair diff-tree gets,
 * and each ls-tree (a release's listing) as a pair from the empty tree.
 */
import { chmodSync, mkdirSync, readFileSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from '../helpers/cli.js';
import { git, tempDir } from '../helpers/git.js';
import { makeRepo, snapshot, type Tree } from '../helpers/repo.js';
import { LocalTransport } from '../../src/transport/local/local-transport.js';
import { readState } from '../../src/apply/state.js';
import { layout } from '../../src/apply/layout.js';
import { planOnTarget, type PlanOptions } from '../../src/observe/plan-target.js';
import type { TargetPlan } from '../../src/plan/types.js';

const EMPTY_TREE = '4b825dc642cb6eb9a060e54bf8d69288fbee4904';
const R1: Tree = {
  'app/a.txt': 'aaaa\n',
  'app/b.txt': 'bbbb\n',
  'app/old.txt': 'old\n',
  'app/moved.txt': 'moved content, long enough to be found as a rename\n',
  'app/run.sh': { content: '#!/bin/sh\necho 1\n', mode: 0o755 },
  'app/link': { link: 'a.txt' },
  'keep/x.txt': 'x\n',
  'keep/y.txt': 'y\n',
  'z/last.txt': 'last\n',
};
const R2: Tree = {
  ...R1,
  'app/b.txt': 'bbbb v2\n',
  'app/c.txt': 'new\n',
  'app/run.sh': { content: '#!/bin/sh\necho 1\n', mode: 0o644 },
  'app/there.txt': 'moved content, long enough to be found as a rename\n',
};
delete R2['app/old.txt'];
delete R2['app/moved.txt'];

const repo = makeRepo();
let r1 = '';
let r2 = '';
const shim = tempDir('diffship-gitshim-');
const log = join(shim, 'diff-tree.log');
let savedPath: string | undefined;
beforeAll(() => {
  // A gitlink (submodule) in both releases, so the diff does not name it: never shipped, never
  // in a manifest. (commit() stages the worktree, which has no such folder: it is added after.)
  const withGitlink = (tree: Tree) => {
    repo.commit(tree);
    git(repo.dir, 'update-index', '--add', '--cacheinfo', `160000,${'5'.repeat(40)},vendor/lib`);
    git(repo.dir, 'commit', '-q', '-m', 'submodule');
    return git(repo.dir, 'rev-parse', 'HEAD');
  };
  r1 = withGitlink(R1);
  r2 = withGitlink(R2);
  const real = git(shim, '--exec-path');
  writeFileSync(
    join(shim, 'git'),
    // A listing is ls-tree --full-tree now (git.ts startTreeListing; the folders-only ls-tree -d of
    // gitlinksOf is not one): written down as a pair from the empty tree.
    `#!/bin/sh\ncase " $* " in *" diff-tree "*) tee -a '${log}' | exec '${real}/git' "$@";; *" ls-tree "*" --full-tree "*) echo "${EMPTY_TREE} ls-tree $*" >> '${log}'; exec '${real}/git' "$@";; *) exec '${real}/git' "$@";; esac\n`,
  );
  chmodSync(join(shim, 'git'), 0o755);
  savedPath = process.env.PATH;
  process.env.PATH = `${shim}:${process.env.PATH}`;
});
afterAll(() => {
  process.env.PATH = savedPath;
  repo.cleanup();
  rmSync(shim, { recursive: true, force: true });
});

function asPlan(p: TargetPlan | string): TargetPlan {
  if (typeof p === 'string') throw new Error(p);
  return p;
}

/** How many listings of a whole release (ls-tree, or diff-tree from the empty tree) git was asked for. */
const listings = () =>
  readFileSync(log, 'utf8')
    .split('\n')
    .filter((l) => l.startsWith(EMPTY_TREE)).length;

describe('authoritative plan from the manifest and the diff', () => {
  const ws = tempDir('diffship-manifest-release-');
  const targetDir = join(ws, 'target');
  writeFileSync(
    join(ws, 'diffship.yml'),
    'waves: [1]\non-drift: overwrite\ntargets:\n  - { name: t, path: target }\n',
  );
  const deploy = (to: string, env: NodeJS.ProcessEnv = {}) =>
    cli(ws, ['deploy', '--repo', repo.dir, '--to', to, '--mode', 'authoritative', '--no-progress'], env);
  /** A fresh target holding R1, deployed for real. */
  const fresh = () => {
    rmSync(targetDir, { recursive: true, force: true });
    const first = deploy(r1);
    expect(first.code, first.stderr).toBe(0);
  };

  /** Plan R2 on the target: as a deploy does, and with the listing (no recorded selection). */
  async function planBoth(o: Partial<PlanOptions> = {}) {
    const t = new LocalTransport(targetDir);
    await t.connect();
    try {
      const l = layout('.diffship');
      const state = (await readState(t, l))!;
      expect(state.selection).toBeDefined();
      const options: PlanOptions = {
        repo: repo.dir,
        to: r2,
        mode: 'authoritative',
        onDrift: 'overwrite',
        ...o,
      };
      const target = { transport: t, layout: l, concurrency: 8, objects: null };
      // A refusal is an outcome too: both must refuse alike.
      const attempt = (p: Promise<TargetPlan>) => p.catch((error: Error) => error.message);
      writeFileSync(log, '');
      const fast = await attempt(planOnTarget({ ...target, state }, options));
      const listed = listings();
      const slow = await attempt(
        planOnTarget({ ...target, state: { ...state, selection: undefined } }, options),
      );
      return { fast, slow, listed, listedSlow: listings() - listed };
    } finally {
      await t.close();
    }
  }

  const summary = (p: TargetPlan | string) =>
    typeof p === 'string'
      ? p
      : {
          writes: p.writes.map((w) => `${w.path} ${w.mode} ${w.blob}`).sort(),
          deletes: p.deletes.map((d) => `${d.path} ${d.reason}`).sort(),
          drift: p.drift.map((d) => `${d.path} ${d.expected} ${d.actual}`).sort(),
          changes: p.changes,
          blocked: p.blocked,
        };

  it('agrees with the listed plan and lists nothing: strays, drift, missing files', async () => {
    fresh();
    writeFileSync(join(targetDir, 'junk.txt'), 'stray\n');
    writeFileSync(join(targetDir, 'app/zz-stray.txt'), 'stray\n');
    symlinkSync('nowhere', join(targetDir, 'app/stray-link'));
    writeFileSync(join(targetDir, 'keep/x.txt'), 'edited by hand\n'); // drift, unchanged by the diff
    unlinkSync(join(targetDir, 'keep/y.txt')); // a release file deleted by hand
    unlinkSync(join(targetDir, 'z/last.txt')); // ... the manifest's last line, passed after the walk
    unlinkSync(join(targetDir, 'app/link')); // a symlink of the release turned into a file
    writeFileSync(join(targetDir, 'app/link'), 'a.txt');

    const { fast: plan, slow, listed, listedSlow } = await planBoth();
    const fast = asPlan(plan);
    expect(listedSlow).toBe(1); // the listed plan does list the release ...
    expect(listed).toBe(0); // ... the manifest plan does not
    expect(summary(fast)).toEqual(summary(slow));
    const deleted = fast.deletes.map((d) => d.path).sort();
    expect(deleted).toEqual([
      'app/moved.txt',
      'app/old.txt',
      'app/stray-link',
      'app/zz-stray.txt',
      'junk.txt',
    ]);
    const written = fast.writes.map((w) => w.path).sort();
    expect(written).toEqual(
      expect.arrayContaining([
        'app/b.txt',
        'app/c.txt',
        'app/there.txt',
        'keep/x.txt',
        'keep/y.txt',
        'z/last.txt',
      ]),
    );
    // The link's text as a file: the same blob, so repaired but not drift.
    expect(written).toContain('app/link');
    expect(fast.drift.map((d) => d.path).sort()).toEqual(['keep/x.txt', 'keep/y.txt', 'z/last.txt']);
  });

  it('a file where the release has a submodule is not deleted as a stray', async () => {
    fresh();
    mkdirSync(join(targetDir, 'vendor'));
    writeFileSync(join(targetDir, 'vendor/lib'), 'a file where the release has a submodule\n');
    writeFileSync(join(targetDir, 'vendor/other'), 'a stray beside it\n');
    const { fast: plan, slow } = await planBoth();
    const fast = asPlan(plan);
    expect(summary(fast)).toEqual(summary(slow));
    expect(fast.deletes.map((d) => d.path)).toContain('vendor/other');
    expect(fast.deletes.map((d) => d.path)).not.toContain('vendor/lib');
  });

  it('a folder where the release has a file: both plans refuse it alike', async () => {
    fresh();
    rmSync(join(targetDir, 'app/a.txt'));
    mkdirSync(join(targetDir, 'app/a.txt'));
    const { fast, slow, listed } = await planBoth();
    expect(listed).toBe(0);
    expect(fast).toMatch(/folder\(s\) on the target where the release has a file: app\/a\.txt/);
    expect(slow).toBe(fast);
  });

  it('in sync, nothing is kept but the diff; drift-scope: all keeps the listed path', async () => {
    fresh();
    const { fast: plan, slow, listed } = await planBoth();
    const fast = asPlan(plan);
    expect(listed).toBe(0);
    expect(summary(fast)).toEqual(summary(slow));
    expect(fast.drift).toEqual([]);
    expect(fast.deletes.map((d) => d.path).sort()).toEqual(['app/moved.txt', 'app/old.txt']);
    const all = await planBoth({ driftScope: 'all' });
    expect(all.listed).toBeGreaterThan(0);
    expect(summary(all.fast)).toEqual(summary(all.slow));
  });

  it('a manifest line inside the state folder is refused (E_STATE), nothing planned from it', async () => {
    fresh();
    const statePath = join(targetDir, '.diffship/state.json');
    const state = JSON.parse(readFileSync(statePath, 'utf8')) as {
      manifestFile: { file: string; sha256: string; size: number };
    };
    const manifestPath = join(targetDir, '.diffship/manifests', state.manifestFile.file);
    const [header, ...lines] = readFileSync(manifestPath, 'utf8').split('\n');
    // Sorted first ('.' < 'a'), with a blob the repository has: the forged state names it exactly.
    const forged = `${lines[0]!.split('\t').slice(0, 3).join('\t')}\t.diffship/state.json`;
    const text = [header, forged, ...lines].join('\n');
    writeFileSync(manifestPath, text);
    state.manifestFile.size = Buffer.byteLength(text);
    state.manifestFile.sha256 = createHash('sha256').update(text).digest('hex');
    writeFileSync(statePath, JSON.stringify(state));
    const { fast, listed } = await planBoth();
    expect(listed).toBe(0);
    expect(fast).toMatch(/manifest lists "\.diffship\/state\.json", inside the state folder/);
  });

  // Either walk: find's order beside the indexed manifest (this small target's), or sorted beside
  // the manifest read forward.
  it.each([
    ['in find’s order', {}],
    ['sorted', { DIFFSHIP_LOCAL_WALK: 'sorted' }],
  ])(
    'a manifest with two lines swapped (its state naming it exactly) stops the deploy %s, naming the line; the target untouched',
    (_walk, env) => {
      fresh();
      writeFileSync(join(targetDir, 'junk.txt'), 'stray\n');
      const statePath = join(targetDir, '.diffship/state.json');
      const state = JSON.parse(readFileSync(statePath, 'utf8')) as {
        manifestFile: { file: string; sha256: string; size: number };
      };
      const manifestPath = join(targetDir, '.diffship/manifests', state.manifestFile.file);
      // keep/x.txt and keep/y.txt, lines 8 and 9: files the diff leaves alone, so the sorted walk
      // settles keep/y.txt on bytes before it meets keep/x.txt below it.
      const lines = readFileSync(manifestPath, 'utf8').split('\n');
      const x = lines.findIndex((l) => l.endsWith('\tkeep/x.txt'));
      expect(x).toBe(7);
      [lines[x], lines[x + 1]] = [lines[x + 1]!, lines[x]!];
      const text = lines.join('\n');
      writeFileSync(manifestPath, text);
      state.manifestFile.size = Buffer.byteLength(text);
      state.manifestFile.sha256 = createHash('sha256').update(text).digest('hex');
      writeFileSync(statePath, JSON.stringify(state));
      const before = snapshot(targetDir, []);
      const run = deploy(r2, env);
      expect(run.code).not.toBe(0);
      expect(run.stderr).toMatch(/manifest line 9 lists "keep\/x\.txt" out of order or twice/);
      expect(run.stderr).not.toMatch(/\n\s+at /); // no stack trace
      expect(snapshot(targetDir, [])).toEqual(before);
    },
  );

  it('a deploy through the manifest path leaves the target exactly the release', async () => {
    fresh();
    writeFileSync(join(targetDir, 'junk.txt'), 'stray\n');
    writeFileSync(join(targetDir, 'keep/x.txt'), 'edited by hand\n');
    const second = deploy(r2);
    expect(second.code, second.stderr).toBe(0);
    const entries = snapshot(targetDir);
    const files = Object.keys(entries).filter((p) => entries[p]!.type !== 'dir');
    const release = git(repo.dir, 'ls-tree', '-r', '--name-only', r2)
      .split('\n')
      .filter((p) => p !== 'vendor/lib');
    expect(files.sort()).toEqual(release.sort());
    expect(readFileSync(join(targetDir, 'keep/x.txt'), 'utf8')).toBe('x\n');
    expect(readFileSync(join(targetDir, 'app/b.txt'), 'utf8')).toBe('bbbb v2\n');
  });
});
