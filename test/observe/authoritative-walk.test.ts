/**
 * Authoritative mode looks at the target by names and types (observe-authoritative.ts):
 * strays are found by the walk alone and never stat'ed or read; the release's files
 * are trusted by the manifest's stat cache: locally one lstat each, over ssh the
 * file helper's walk compared with the manifest on the host (walkUnmatched).
 * Real deploys through the built CLI to a real folder and a real sshd, then the
 * observation on that folder, counting what the transport is asked to do.
 */
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from '../helpers/cli.js';
import { tempDir } from '../helpers/git.js';
import { makeRepo, snapshot, type Tree } from '../helpers/repo.js';
import { startSshd, sshTargetYaml, type Sshd } from '../helpers/sshd.js';
import { LocalTransport } from '../../src/transport/local/local-transport.js';
import { SshTransport } from '../../src/transport/ssh/ssh-transport.js';
import type { ExactVisit, SortedVisit, Transport } from '../../src/transport/transport.js';
import { readState } from '../../src/apply/state.js';
import { layout } from '../../src/apply/layout.js';
import { observeWhole } from '../../src/observe/observe-authoritative.js';
import { startLook } from '../../src/observe/observe-look.js';

const R1: Tree = {
  'app/a.txt': 'aaaa\n',
  'app/b.txt': 'bbbb\n',
  'app/run.sh': { content: '#!/bin/sh\necho 1\n', mode: 0o755 },
  'app/link': { link: 'a.txt' },
  'keep/x.txt': 'x\n',
};
const R2: Tree = { ...R1, 'app/c.txt': 'cccc\n' };
const RELEASE_FILES = Object.keys(R1).sort();
const STRAYS = ['app/extra.txt', 'app/old-link', 'deep/er/f.txt', 'junk.txt'];

let sshd: Sshd | undefined;
const repo = makeRepo();
let r1 = '';
let r2 = '';
beforeAll(async () => {
  r1 = repo.commit(R1);
  r2 = repo.commit(R2);
  sshd = await startSshd();
}, 60_000);
afterAll(async () => {
  await sshd?.stop();
  repo.cleanup();
});

/** Each transport call that matters here, written down. */
interface Calls {
  walk: unknown[][];
  walkSorted: unknown[][];
  walkExact: unknown[][];
  /** The SSH look's calls, and each entry it sent (the rest matched the manifest on the host). */
  walkUnmatched: unknown[][];
  sent: string[];
  statExact: string[];
  hashFiles: string[];
}
function counting(real: Transport): { t: Transport; calls: Calls } {
  const calls: Calls = {
    walk: [],
    walkSorted: [],
    walkExact: [],
    walkUnmatched: [],
    sent: [],
    statExact: [],
    hashFiles: [],
  };
  const t = new Proxy(real, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        if (prop === 'walk') calls.walk.push(args);
        if (prop === 'walkSorted') {
          calls.walkSorted.push(args);
          // Each lstat the visitor asks of the sorted walk counts as one.
          const visit = args[1] as SortedVisit;
          args[1] = ((path, type, exact) =>
            visit(path, type, (p) => {
              calls.statExact.push(p);
              return exact(p);
            })) satisfies SortedVisit;
        }
        if (prop === 'walkExact') calls.walkExact.push(args);
        if (prop === 'walkUnmatched') {
          calls.walkUnmatched.push(args);
          const visit = args[1] as ExactVisit;
          args[1] = ((path, type, stat) => {
            calls.sent.push(path);
            visit(path, type, stat);
          }) satisfies ExactVisit;
        }
        if (prop === 'statExact') calls.statExact.push(args[0] as string);
        // The batch form counts as one lstat per path it names.
        if (prop === 'statExactMany') calls.statExact.push(...(args[0] as string[]));
        if (prop === 'hashFiles') calls.hashFiles.push(...(args[0] as string[]));
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { t, calls };
}

const sides = ['local', 'ssh'] as const;

describe.each(sides)('authoritative names-only walk (%s)', (side) => {
  const ws = tempDir(`diffship-authwalk-${side}-`);
  const targetDir = join(ws, 'target');
  const connect = async (): Promise<Transport> => {
    const t =
      side === 'local' ? new LocalTransport(targetDir) : new SshTransport(sshd!.sshOptions(), targetDir);
    await t.connect();
    return t;
  };
  const deploy = (to: string, ...extra: string[]) =>
    cli(ws, ['deploy', '--repo', repo.dir, '--to', to, '--mode', 'authoritative', '--no-progress', ...extra]);

  /** observeWhole on the target as the planner calls it for release R1. */
  async function observe() {
    const real = await connect();
    try {
      const l = layout('.diffship');
      const state = (await readState(real, l))!;
      const { t, calls } = counting(real);
      const target = { transport: t, layout: l, concurrency: 8 };
      // Over ssh the look starts with the plan, before the release is listed (plan-target.ts).
      const look = startLook(target, state);
      // The release is R1 as recorded: its files, blobs and modes are the manifest's.
      const view = await observeWhole(
        target,
        state.manifest!.files,
        new Set(),
        { manifest: state.manifest, statePath: l.state },
        'sha1',
        look,
      );
      const blobs = Object.fromEntries(state.manifest!.files.map((f) => [f.path, f.blob]));
      return { observed: view.observed, inSync: view.inSync, calls, blobs };
    } finally {
      await real.close();
    }
  }

  it('finds strays by name and type alone; only release files are looked into', async () => {
    const target =
      side === 'local' ? ['  - { name: t, path: target }'] : sshTargetYaml(sshd!, targetDir, 't');
    writeFileSync(
      join(ws, 'diffship.yml'),
      ['waves: [1]', 'on-drift: overwrite', 'protect: ["uploads/**"]', 'targets:', ...target, ''].join('\n'),
    );
    const first = deploy(r1);
    expect(first.code, first.stderr).toBe(0);

    writeFileSync(join(targetDir, 'junk.txt'), 'stray\n');
    writeFileSync(join(targetDir, 'app/extra.txt'), 'stray\n');
    symlinkSync('a.txt', join(targetDir, 'app/old-link'));
    mkdirSync(join(targetDir, 'deep/er'), { recursive: true });
    writeFileSync(join(targetDir, 'deep/er/f.txt'), 'stray\n');
    mkdirSync(join(targetDir, 'empty'));
    mkdirSync(join(targetDir, 'uploads'));
    writeFileSync(join(targetDir, 'uploads/u.txt'), 'user upload\n');
    writeFileSync(join(targetDir, '.diffship/mine.txt'), 'inside the state folder\n');

    const { observed, inSync, calls, blobs } = await observe();
    // One walk of the whole target without the state folder; local asks for no stat per entry,
    // ssh walks in the file helper, with the lstat it takes of each entry anyway.
    if (side === 'local') {
      // In path order, merged with the release and the manifest as it goes (authoritative-merge.ts).
      expect(calls.walk).toEqual([]);
      expect(calls.walkSorted).toHaveLength(1);
      expect(calls.walkSorted[0]![0]).toEqual(['.diffship']);
      expect(calls.walkExact).toEqual([]);
    } else {
      // The file helper compares its walk with the manifest on the host (observe-look.ts): only
      // what differs comes back (the strays and the folders), no release file in sync.
      expect(calls.walk).toEqual([]);
      expect(calls.walkExact).toEqual([]);
      expect(calls.walkUnmatched).toHaveLength(1);
      expect(calls.walkUnmatched[0]![0]).toMatchObject({ skip: ['.diffship'] });
      expect([...calls.sent].sort()).toEqual(
        [...STRAYS, 'uploads/u.txt', 'app', 'deep', 'deep/er', 'empty', 'keep', 'uploads'].sort(),
      );
    }
    for (const s of [...STRAYS, 'uploads/u.txt']) {
      expect(observed.get(s)?.type, s).toBe(s === 'app/old-link' ? 'symlink' : 'file');
      expect(calls.hashFiles, s).not.toContain(s);
      expect(calls.statExact, s).not.toContain(s);
    }
    expect(observed.get('empty')?.type).toBe('dir');
    expect(observed.has('.diffship/mine.txt')).toBe(false);
    // Each release file is lstat'ed once (locally one call each, over ssh in the walk) and trusted:
    // nothing is hashed.
    const statted = calls.statExact.filter((p) => p !== '.diffship/state.json').sort();
    expect(statted).toEqual(side === 'local' ? RELEASE_FILES : []);
    expect(calls.hashFiles).toEqual([]);
    // The sorted merge keeps nothing of a file in sync: it is counted.
    for (const p of RELEASE_FILES) expect(observed.has(p), p).toBe(false);
    expect(inSync).toBe(RELEASE_FILES.length);
    expect(Object.keys(blobs).sort()).toEqual(RELEASE_FILES);

    // The deploy deletes exactly the strays; protect and the state folder stay.
    const r = deploy(r2, '--json');
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as { targets: Array<{ changes: { deleted: string[] } }> };
    expect(report.targets[0]!.changes.deleted).toEqual(STRAYS);
    const tree = snapshot(targetDir, ['.diffship', 'uploads']);
    const files = Object.keys(tree).filter((p) => tree[p]!.type !== 'dir');
    expect(files.sort()).toEqual([...RELEASE_FILES, 'app/c.txt'].sort());
    expect(existsSync(join(targetDir, 'uploads/u.txt'))).toBe(true);
    expect(existsSync(join(targetDir, '.diffship/mine.txt'))).toBe(true);
    // A folder that was empty before the deploy is no file of the release, and stays (as before).
    expect(existsSync(join(targetDir, 'empty'))).toBe(true);
  });

  it('a same-size edit (mtime moved) is hashed, found as drift and repaired', async () => {
    const back = deploy(r1);
    expect(back.code, back.stderr).toBe(0);
    writeFileSync(join(targetDir, 'app/b.txt'), 'BBBB\n'); // same size, new bytes
    const { observed, calls, blobs } = await observe();
    expect(calls.hashFiles).toEqual(['app/b.txt']);
    expect(observed.get('app/b.txt')!.blob).not.toBe(blobs['app/b.txt']);

    const r = deploy(r2, '--json');
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as { targets: Array<{ changes: { drift: string[] } }> };
    expect(report.targets[0]!.changes.drift).toEqual(['app/b.txt']);
    expect(snapshot(targetDir)['app/b.txt']!.content).toBe('bbbb\n');
  });

  it('a same-size edit with its mtime put back (touch -r) is still hashed: the ctime moved', async () => {
    const back = deploy(r1);
    expect(back.code, back.stderr).toBe(0);
    const file = join(targetDir, 'app/a.txt');
    const ref = join(ws, 'mtime-ref');
    execFileSync('touch', ['-r', file, ref]); // the exact ns mtime, kept aside
    const before = lstatSync(file, { bigint: true });
    writeFileSync(file, 'AAAA\n'); // same size, new bytes
    execFileSync('touch', ['-r', ref, file]);
    const after = lstatSync(file, { bigint: true });
    expect([after.size, after.mtimeNs, after.ino]).toEqual([before.size, before.mtimeNs, before.ino]);
    const { observed, calls, blobs } = await observe();
    expect(calls.hashFiles).toEqual(['app/a.txt']);
    expect(observed.get('app/a.txt')!.blob).not.toBe(blobs['app/a.txt']);
    const r = deploy(r2, '--json');
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as { targets: Array<{ changes: { drift: string[] } }> };
    expect(report.targets[0]!.changes.drift).toEqual(['app/a.txt']);
    expect(snapshot(targetDir)['app/a.txt']!.content).toBe('aaaa\n');
  });

  it('a racy entry (mtime not older than the state file) is hashed, not trusted', async () => {
    const back = deploy(r1);
    expect(back.code, back.stderr).toBe(0);
    const clean = await observe();
    expect(clean.calls.hashFiles).toEqual([]);
    // The state file written in the same tick as the files: every cached stat is racy.
    utimesSync(join(targetDir, '.diffship/state.json'), new Date(2000, 0, 1), new Date(2000, 0, 1));
    const racy = await observe();
    expect([...racy.calls.hashFiles].sort()).toEqual(RELEASE_FILES);
    for (const p of RELEASE_FILES) expect(racy.observed.get(p)?.blob, p).toBe(racy.blobs[p]);
  });

  it('a file that lost its x bit and one deleted by hand are kept for the plan and repaired', async () => {
    const back = deploy(r1);
    expect(back.code, back.stderr).toBe(0);
    // The last test left the state file's mtime in 2000 (every stat racy), and a deploy with
    // nothing to do writes no new state: the present time makes the cache usable again.
    utimesSync(join(targetDir, '.diffship/state.json'), new Date(), new Date());
    chmodSync(join(targetDir, 'app/run.sh'), 0o644); // same bytes; the ctime moves
    rmSync(join(targetDir, 'app/b.txt'));
    const { observed, calls, blobs } = await observe();
    expect(calls.hashFiles).toEqual(['app/run.sh']);
    expect(observed.get('app/run.sh')).toEqual({ type: 'file', blob: blobs['app/run.sh'], mode: 0o644 });
    expect(observed.has('app/b.txt')).toBe(false);

    const r = deploy(r2, '--json');
    expect(r.code, r.stderr).toBe(0);
    const tree = snapshot(targetDir, ['.diffship']);
    expect(lstatSync(join(targetDir, 'app/run.sh')).mode & 0o111).not.toBe(0);
    expect(tree['app/b.txt']!.content).toBe('bbbb\n');
  });

  // The look (ssh) and the local merges hand the plan each hashed file's stat, for the next manifest.
  it('hash once: a file whose stat moved but holds its blob is trusted by its new stat after a deploy', async () => {
    const back = deploy(r1);
    expect(back.code, back.stderr).toBe(0);
    utimesSync(join(targetDir, '.diffship/state.json'), new Date(), new Date());
    // Same bytes, another mtime (a copy, a touch): the cached stat no longer vouches for it.
    const old = new Date(Date.now() - 3_600_000);
    utimesSync(join(targetDir, 'app/a.txt'), old, old);
    const touched = await observe();
    expect(touched.calls.hashFiles).toEqual(['app/a.txt']);
    expect(touched.observed.get('app/a.txt')?.blob).toBe(touched.blobs['app/a.txt']);
    // A deploy records the stat it was hashed with: the next look trusts it, nothing is hashed.
    const r = deploy(r2);
    expect(r.code, r.stderr).toBe(0);
    const after = await observe();
    expect(after.calls.hashFiles).toEqual([]);
    expect(after.calls.sent).not.toContain('app/a.txt');
    expect(snapshot(targetDir)['app/a.txt']!.content).toBe('aaaa\n');
  });

  it('a file dated before 1970 (a negative mtime) is recorded, trusted next time, and the manifest reads back', async () => {
    const back = deploy(r1);
    expect(back.code, back.stderr).toBe(0);
    const old = new Date('1960-01-01T00:00:00Z');
    utimesSync(join(targetDir, 'app/b.txt'), old, old);
    const r = deploy(r2);
    expect(r.code, r.stderr).toBe(0);
    // The manifest holds the negative time as lstat gives it, and is read back whole.
    const status = cli(ws, ['status', '--json']);
    expect(status.code, status.stderr).toBe(0);
    const after = await observe();
    expect(after.calls.hashFiles).toEqual([]);
    expect(after.calls.sent).not.toContain('app/b.txt');
    expect(snapshot(targetDir)['app/b.txt']!.content).toBe('bbbb\n');
  });
});
