/**
 * The walk echo (observe/walk-echo.ts, observe/echoed-merge.ts,
 * apply/walk-echo-file.ts): an authoritative deploy that only rewrote files in
 * place leaves its walk, as the target now is, beside the manifest; the next
 * one compares its own walk with it byte for byte and, when they are the same,
 * merges nothing else. Checked on real folders and a real repository:
 *
 * - a record made from an lstat is what GNU find prints for it;
 * - the echo a deploy leaves is exactly a fresh walk of the target;
 * - a plan made from the echo equals the plan made without it (its file
 *   removed), and every change by hand (an edit, a stray, a file removed)
 *   makes the walk differ and is planned for as before;
 * - an echo of another manifest, one newer than the state file (racy), or one
 *   that is a link is never compared; the deploy refuses the link;
 * - a deploy that adds or deletes a file leaves none, and rounds of deploys
 *   through echoes leave the release exactly.
 */
import { execFileSync } from 'node:child_process';
import {
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from '../helpers/cli.js';
import { git, tempDir } from '../helpers/git.js';
import { makeRepo, snapshot, type Tree } from '../helpers/repo.js';
import { LocalTransport } from '../../src/transport/local/local-transport.js';
import { printed, pruneArgs } from '../../src/transport/local/find-records.js';
import { readState } from '../../src/apply/state.js';
import { layout } from '../../src/apply/layout.js';
import { planOnTarget } from '../../src/observe/plan-target.js';
import type { TargetPlan } from '../../src/plan/types.js';
import type { FileStat } from '../../src/plan/manifest-types.js';
import type { WalkEcho } from '../../src/transport/transport.js';
import {
  echoCompares,
  echoFolders,
  olderThan,
  parseEchoFile,
  recordOf,
  renderRecord,
  takeEcho,
} from '../../src/observe/walk-echo.js';

/** The walk find-stream.ts makes of `dir` (the state folder left out), as bytes. */
const walkNow = (dir: string): Buffer =>
  execFileSync('find', ['.', '-mindepth', '1', ...pruneArgs(['.diffship']), ...printed('%P')], {
    cwd: dir,
    env: { ...process.env, LC_ALL: 'C' },
    maxBuffer: 1 << 28,
  });

const statOf = (p: string): FileStat => {
  const s = lstatSync(p, { bigint: true });
  return {
    size: Number(s.size),
    mtimeNs: String(s.mtimeNs),
    ctimeNs: String(s.ctimeNs),
    ino: String(s.ino),
    mode: Number(s.mode),
  };
};

describe('echo records', () => {
  const dir = tempDir('diffship-echo-records-');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('a record made from an lstat is what find prints: file, executable, folder, link', () => {
    mkdirSync(join(dir, 'sub dir'));
    writeFileSync(join(dir, 'sub dir/a b.txt'), 'hello\n', { mode: 0o640 });
    writeFileSync(join(dir, 'run.sh'), '#!/bin/sh\n', { mode: 0o755 });
    symlinkSync('sub dir/a b.txt', join(dir, 'link'));
    const walk = walkNow(dir);
    const folders = echoFolders(walk);
    expect([...folders.keys()]).toEqual(['sub dir']);
    for (const path of ['sub dir/a b.txt', 'run.sh', 'link']) {
      const at = recordOf(walk, folders, path)!;
      expect(at, path).not.toBeNull();
      const found = walk.subarray(at.start, at.end);
      expect(renderRecord(path, statOf(join(dir, path)), found)?.toString(), path).toBe(found.toString());
      // Without a record to copy the width from: find's own (GNU find prints 10 digits).
      expect(renderRecord(path, statOf(join(dir, path)), null)?.toString()).toBe(found.toString());
    }
    const start = folders.get('sub dir')!;
    const folder = walk.subarray(start, walk.indexOf(0, start) + 1);
    expect(renderRecord('sub dir', statOf(join(dir, 'sub dir')), folder)?.toString()).toBe(folder.toString());
  });

  it('a path is found as a whole record, never as the end of a longer name', () => {
    const walk = Buffer.from(
      'd 4096 1.1000000000 1.1000000000 1 755 x/\0' +
        'f 3 1.1000000000 1.1000000000 2 644 x/a b.txt\0' +
        'f 3 1.1000000000 1.1000000000 3 644 x/b.txt\0' +
        'd 4096 1.1000000000 1.1000000000 4 755 x/b.txt.d/\0',
    );
    const folders = echoFolders(walk);
    const at = recordOf(walk, folders, 'x/b.txt')!;
    expect(walk.toString('latin1', at.start, at.end)).toContain(' 3 644 x/b.txt\0');
    expect(recordOf(walk, folders, 'x/b')).toBeNull();
    expect(recordOf(walk, folders, 'x/b.txt.d')).toBeNull(); // a folder, not a file
    expect(recordOf(walk, folders, 'y/b.txt')).toBeNull(); // no such folder walked
  });

  it('an echo file is read only whole and for the manifest it names', () => {
    const sha = 'a'.repeat(64);
    const records = Buffer.from('f 1 1.1 1.1 1 644 a\0');
    const file = (head: string, body = records) => Buffer.concat([Buffer.from(head), body]);
    const good = `diffship walk 1\nmanifest ${sha}\nbelow 17\nrecords ${records.length}\n\n`;
    expect(parseEchoFile(file(good), sha)).toEqual({ records, below: '17' });
    expect(parseEchoFile(file(good), 'b'.repeat(64))).toBeNull(); // another manifest's
    expect(parseEchoFile(file(good, records.subarray(0, 10)), sha)).toBeNull(); // cut short
    expect(parseEchoFile(file(good.replace('walk 1', 'walk 2')), sha)).toBeNull();
    expect(parseEchoFile(file(good.replace('below 17', 'below 017')), sha)).toBeNull();
    const unended = Buffer.from('f 1 1.1 1.1 1 644 a');
    expect(
      parseEchoFile(file(good.replace(/records \d+/, `records ${unended.length}`), unended), sha),
    ).toBeNull();
    expect(olderThan('99', '100')).toBe(true);
    expect(olderThan('100', '100')).toBe(false);
    expect(olderThan('101', '100')).toBe(false);
  });
});

describe('walkUnordered with an echo', () => {
  const dir = tempDir('diffship-echo-walk-');
  beforeAll(() => {
    for (let i = 0; i < 300; i++) {
      mkdirSync(join(dir, `d${i % 7}`), { recursive: true });
      writeFileSync(join(dir, `d${i % 7}/f${i}.txt`), `${i}\n`);
    }
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  async function walk(expected: Buffer | null) {
    const t = new LocalTransport(dir);
    await t.connect();
    try {
      const visited: string[] = [];
      let before = 0;
      const echo: WalkEcho = { expected, keepUpTo: 1 << 20, beforeVisit: () => before++ };
      const whole = await t.walkUnordered!(['.diffship'], (p) => visited.push(p), undefined, echo);
      return { whole, visited, before, echo };
    } finally {
      await t.close();
    }
  }

  it('the same walk visits nothing; any other byte and every entry is visited once', async () => {
    const bytes = walkNow(dir);
    const same = await walk(bytes);
    expect(same).toMatchObject({ whole: true, visited: [], before: 0 });
    expect(same.echo.same).toBe(true);
    const changed = Buffer.from(bytes);
    changed[changed.length - 2] = changed[changed.length - 2]! ^ 1; // the last record's path
    const other = await walk(changed);
    expect(other.whole).toBe(true);
    expect(other.echo.same).toBeUndefined();
    expect(other.before).toBe(1);
    expect(other.visited).toHaveLength(307);
    expect(new Set(other.visited).size).toBe(307);
    expect(other.echo.records!.equals(bytes)).toBe(true); // kept for the next echo
    const shorter = await walk(bytes.subarray(0, bytes.length - 10));
    expect(shorter.echo.same).toBeUndefined();
    expect(shorter.visited).toHaveLength(307);
  });
});

const R1: Tree = {
  'app/a.txt': 'aaaa\n',
  'app/b.txt': 'bbbb\n',
  'app/run.sh': { content: '#!/bin/sh\necho 1\n', mode: 0o755 },
  'app/link': { link: 'a.txt' },
  'keep/x.txt': 'x\n',
  'keep/deep/y.txt': 'y\n',
  // Left to the visitor (not settled on bytes), found in sync by its stat: no obstacle to an echo.
  'keep/ünïcödé.txt': 'u\n',
  'top.txt': 'top\n',
};
// In place only: two files and a link rewritten, a mode changed.
const R2: Tree = {
  ...R1,
  'app/b.txt': 'bbbb v2\n',
  'keep/deep/y.txt': 'y v2\n',
  'top.txt': 'top v2\n',
  'app/link': { link: 'run.sh' },
  'app/run.sh': { content: '#!/bin/sh\necho 1\n', mode: 0o644 },
};
// Adds a file.
const R3: Tree = { ...R2, 'app/new.txt': 'new\n' };
// Deletes one.
const R4: Tree = { ...R2 };
delete R4['keep/x.txt'];

describe('the echo of a deploy', () => {
  const repo = makeRepo();
  const revs: Record<string, string> = {};
  const ws = tempDir('diffship-echo-deploy-');
  const targetDir = join(ws, 'target');
  const manifests = join(targetDir, '.diffship/manifests');
  beforeAll(() => {
    for (const [name, tree] of Object.entries({ R1, R2, R3, R4 })) {
      repo.commit(tree);
      revs[name] = git(repo.dir, 'rev-parse', 'HEAD');
    }
    writeFileSync(
      join(ws, 'diffship.yml'),
      'waves: [1]\non-drift: overwrite\ntargets:\n  - { name: t, path: target }\n',
    );
  });
  afterAll(() => {
    repo.cleanup();
    rmSync(ws, { recursive: true, force: true });
  });

  const deploy = (to: string) => {
    const r = cli(ws, [
      'deploy',
      '--repo',
      repo.dir,
      '--to',
      revs[to]!,
      '--mode',
      'authoritative',
      '--no-progress',
    ]);
    expect(r.code, r.stderr).toBe(0);
  };
  const echoFiles = () => readdirSync(manifests).filter((n) => n.endsWith('.walk'));
  /** The echo's records, checked to belong to the manifest the state names. */
  const echoRecords = () => {
    const [name] = echoFiles();
    const state = JSON.parse(readFileSync(join(targetDir, '.diffship/state.json'), 'utf8'));
    expect(name).toBe(state.manifestFile.file.replace(/\.tsv$/, '.walk'));
    return parseEchoFile(readFileSync(join(manifests, name!)), state.manifestFile.sha256)!.records;
  };
  /** The target holds `tree` exactly: every file's bytes and x bit, every link's text, nothing else. */
  const expectTree = (tree: Tree) => {
    const files = Object.entries(snapshot(targetDir)).filter(([, e]) => e.type !== 'dir');
    const want = Object.entries(tree).map(([path, e]) => [
      path,
      typeof e === 'string'
        ? { type: 'file', content: e, exec: false }
        : 'link' in e
          ? { type: 'symlink', content: e.link }
          : { type: 'file', content: e.content, exec: ((e.mode ?? 0o644) & 0o111) !== 0 },
    ]);
    expect(Object.fromEntries(files)).toEqual(Object.fromEntries(want));
  };

  /** Plan `to` in this process, as a deploy does: with the echo, then with its file moved away. */
  async function planTwice(to: string) {
    const t = new LocalTransport(targetDir);
    await t.connect();
    try {
      const l = layout('.diffship');
      const state = (await readState(t, l))!;
      const target = { transport: t, layout: l, concurrency: 8, objects: null, state };
      const options = {
        repo: repo.dir,
        to: revs[to]!,
        mode: 'authoritative' as const,
        onDrift: 'overwrite' as const,
      };
      const before = { ...echoCompares };
      const withEcho = await planOnTarget(target, options);
      const compared = {
        same: echoCompares.same - before.same,
        differed: echoCompares.differed - before.differed,
      };
      const [name] = echoFiles();
      if (name) renameSync(join(manifests, name), join(ws, name));
      try {
        const without = await planOnTarget({ ...target, state: (await readState(t, l))! }, options);
        expect(echoCompares.same + echoCompares.differed).toBe(
          before.same + before.differed + compared.same + compared.differed,
        );
        return { withEcho, without, compared };
      } finally {
        if (name) renameSync(join(ws, name), join(manifests, name));
      }
    } finally {
      await t.close();
    }
  }
  const summary = (p: TargetPlan) => ({
    writes: p.writes.map((w) => `${w.path} ${w.mode} ${w.blob}`).sort(),
    deletes: p.deletes.map((d) => `${d.path} ${d.reason}`).sort(),
    drift: p.drift.map((d) => `${d.path} ${d.expected} ${d.actual}`).sort(),
    changes: p.changes,
    observedDirs: [...(p.observedDirs ?? [])].sort(),
  });

  it('is left by an in-place deploy, exactly as a fresh walk, and used by the next plan', async () => {
    deploy('R1');
    expect(echoFiles()).toEqual([]); // a first deploy does not walk the target
    deploy('R2');
    expect(echoRecords().equals(walkNow(targetDir))).toBe(true);
    const { withEcho, without, compared } = await planTwice('R1');
    expect(compared).toEqual({ same: 1, differed: 0 });
    expect(summary(withEcho)).toEqual(summary(without));
    expect(withEcho.writes.map((w) => w.path).sort()).toEqual([
      'app/b.txt',
      'app/link',
      'app/run.sh',
      'keep/deep/y.txt',
      'top.txt',
    ]);
    expect(withEcho.deletes).toEqual([]);
    // The diff's paths are looked at through the echo too: a file it adds, one it deletes.
    const added = await planTwice('R3');
    expect(added.compared).toEqual({ same: 1, differed: 0 });
    expect(summary(added.withEcho)).toEqual(summary(added.without));
    expect(added.withEcho.writes.map((w) => w.path)).toEqual(['app/new.txt']);
    const deleted = await planTwice('R4');
    expect(deleted.compared).toEqual({ same: 1, differed: 0 });
    expect(summary(deleted.withEcho)).toEqual(summary(deleted.without));
    expect(deleted.withEcho.deletes.map((d) => d.path)).toEqual(['keep/x.txt']);
  });

  it.each([
    ['a file edited by hand', () => writeFileSync(join(targetDir, 'keep/x.txt'), 'X\n'), ['keep/x.txt'], []],
    ['a stray', () => writeFileSync(join(targetDir, 'keep/stray.txt'), 's\n'), [], ['keep/stray.txt']],
    ['a release file removed', () => unlinkSync(join(targetDir, 'app/a.txt')), ['app/a.txt'], []],
    ['a file touched', () => utimesSync(join(targetDir, 'keep/x.txt'), new Date(), new Date()), [], []],
  ] as const)(
    '%s: the walk differs, and the plan is made as without an echo',
    async (_, change, drift, strays) => {
      rmSync(targetDir, { recursive: true, force: true });
      deploy('R1');
      deploy('R2');
      change();
      const { withEcho, without, compared } = await planTwice('R1');
      expect(compared).toEqual({ same: 0, differed: 1 });
      expect(summary(withEcho)).toEqual(summary(without));
      expect(withEcho.drift.map((d) => d.path)).toEqual(drift);
      expect(withEcho.deletes.map((d) => d.path)).toEqual(strays);
    },
  );

  it('a stray the plan deletes: the walk is not kept for an echo; a protected one: it is', async () => {
    rmSync(targetDir, { recursive: true, force: true });
    deploy('R1');
    deploy('R2');
    writeFileSync(join(targetDir, 'keep/stray.txt'), 's\n');
    const t = new LocalTransport(targetDir);
    await t.connect();
    try {
      const l = layout('.diffship');
      const target = {
        transport: t,
        layout: l,
        concurrency: 8,
        objects: null,
        state: (await readState(t, l))!,
      };
      const plan = (protect: string[]) =>
        planOnTarget(target, {
          repo: repo.dir,
          to: revs.R1!,
          mode: 'authoritative',
          onDrift: 'overwrite',
          protect,
        });
      // An in-place rewrite (R2 → R1), so the walk would be kept, but for the stray.
      const deleting = await plan([]);
      expect(deleting.deletes.map((d) => d.path)).toEqual(['keep/stray.txt']);
      expect(takeEcho(deleting)).toBeUndefined();
      const protecting = await plan(['keep/stray.txt']);
      expect(protecting.deletes).toEqual([]);
      expect(takeEcho(protecting)?.records.equals(walkNow(targetDir))).toBe(true);
    } finally {
      await t.close();
    }
  });

  it('is not compared when it names another manifest, or is newer than the state file', async () => {
    rmSync(targetDir, { recursive: true, force: true });
    deploy('R1');
    deploy('R2');
    const [name] = echoFiles();
    const path = join(manifests, name!);
    const original = readFileSync(path);
    writeFileSync(
      path,
      Buffer.from(
        original.toString('latin1').replace(/manifest [0-9a-f]{64}/, `manifest ${'0'.repeat(64)}`),
        'latin1',
      ),
    );
    expect((await planTwice('R1')).compared).toEqual({ same: 0, differed: 0 });
    writeFileSync(path, original);
    // The state file older than the echo's newest file: racy, so not "in sync" by the echo.
    const old = new Date(Date.now() - 3_600_000);
    utimesSync(join(targetDir, '.diffship/state.json'), old, old);
    const racy = await planTwice('R1');
    expect(racy.compared).toEqual({ same: 0, differed: 0 });
    expect(summary(racy.withEcho)).toEqual(summary(racy.without));
  });

  it('a link in its place is never read, and the deploy refuses it', async () => {
    rmSync(targetDir, { recursive: true, force: true });
    deploy('R1');
    deploy('R2');
    const [name] = echoFiles();
    const path = join(manifests, name!);
    renameSync(path, join(ws, 'real.walk'));
    symlinkSync(join(ws, 'real.walk'), path);
    expect((await planTwice('R1')).compared).toEqual({ same: 0, differed: 0 });
    const before = snapshot(targetDir);
    const r = cli(ws, [
      'deploy',
      '--repo',
      repo.dir,
      '--to',
      revs.R1!,
      '--mode',
      'authoritative',
      '--no-progress',
    ]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`.diffship/manifests/${name}`);
    expect(r.stderr).not.toMatch(/\n\s+at /); // one line, no stack
    expect(snapshot(targetDir)).toEqual(before);
  });

  it('an added or deleted file leaves none; rounds through echoes leave each release exactly', async () => {
    rmSync(targetDir, { recursive: true, force: true });
    deploy('R1');
    deploy('R2');
    expect(echoFiles()).toHaveLength(1);
    deploy('R3'); // adds app/new.txt: its place in find's order is unknown
    expect(echoFiles()).toEqual([]);
    expectTree(R3);
    deploy('R2'); // deletes it
    expect(echoFiles()).toEqual([]);
    for (const to of ['R1', 'R2', 'R1', 'R2']) {
      deploy(to);
      expectTree(to === 'R1' ? R1 : R2);
      expect(readFileSync(join(targetDir, 'top.txt'), 'utf8')).toBe(to === 'R1' ? 'top\n' : 'top v2\n');
      expect(echoRecords().equals(walkNow(targetDir))).toBe(true);
    }
  });
});
