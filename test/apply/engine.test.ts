import { afterEach, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LocalTransport } from '../../src/transport/local/local-transport.js';
import { TargetSession } from '../../src/apply/session.js';
import type { PlanOptions } from '../../src/observe/plan-target.js';
import type { Logger } from '../../src/log.js';
import { makeRepo, snapshot, type Tree } from '../helpers/repo.js';
import { tempDir } from '../helpers/git.js';

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

function setup() {
  const repo = makeRepo();
  const target = tempDir('diffship-target-');
  cleanups.push(repo.cleanup, () => rmSync(target, { recursive: true, force: true }));
  return { repo, target };
}

async function deploy(
  target: string,
  repoDir: string,
  to: string,
  over: Partial<PlanOptions> = {},
  log?: Logger,
) {
  const s = await TargetSession.open({
    transport: new LocalTransport(target),
    stateDir: '.diffship',
    command: 'deploy',
    log,
  });
  try {
    const plan = await s.plan({ repo: repoDir, to, mode: 'additive', onDrift: 'fail', ...over });
    const result = await s.apply(plan, repoDir);
    return { plan, result, state: s.state };
  } finally {
    await s.close();
  }
}

async function rollback(target: string) {
  const s = await TargetSession.open({
    transport: new LocalTransport(target),
    stateDir: '.diffship',
    command: 'rollback',
  });
  try {
    return await s.rollback();
  } finally {
    await s.close();
  }
}

const V1: Tree = {
  'a.json': '{"v":1}',
  'b.json': 'bee',
  'run.sh': { content: '#!/bin/sh\necho 1\n', mode: 0o644 },
  'link.json': { link: 'a.json' },
  'dir/deep/c.json': 'cee',
  'old/x.json': 'renamed content that is long enough to be detected as a rename\n'.repeat(4),
};
const V2: Tree = {
  'a.json': '{"v":2}',
  'run.sh': { content: '#!/bin/sh\necho 1\n', mode: 0o755 },
  'link.json': { link: 'b2.json' },
  'b2.json': 'new file',
  'new/x.json': 'renamed content that is long enough to be detected as a rename\n'.repeat(4),
};

describe('apply engine on local targets', () => {
  it('first deploy writes the whole release with modes and symlinks, and records it', async () => {
    const { repo, target } = setup();
    const v1 = repo.commit(V1);
    const { result, state } = await deploy(target, repo.dir, v1);
    expect(result.changed).toBe(true);
    expect(snapshot(target)).toEqual(snapshot(repo.dir, ['.git']));
    expect(state?.release).toBe(v1);
    expect(state?.previousRelease).toBeNull();
    expect(existsSync(join(target, '.diffship/staging'))).toBe(false);
    expect(existsSync(join(target, '.diffship/journal.json'))).toBe(false);
    expect(existsSync(join(target, '.diffship/lock.json'))).toBe(false);
  });

  it('additive keeps deleted and renamed-away files; authoritative makes the folder equal the release', async () => {
    const { repo, target } = setup();
    const v1 = repo.commit(V1);
    const v2 = repo.commit(V2);
    await deploy(target, repo.dir, v1);
    const { plan } = await deploy(target, repo.dir, v2);
    expect(plan.changes.kept.sort()).toEqual(['b.json', 'dir/deep/c.json', 'old/x.json']);
    expect(plan.changes.renamed).toEqual([{ from: 'old/x.json', to: 'new/x.json' }]);
    const snap = snapshot(target);
    expect(snap['b.json']?.content).toBe('bee');
    expect(snap['run.sh']?.exec).toBe(true);
    expect(snap['link.json']).toEqual({ type: 'symlink', content: 'b2.json' });
    expect(snap['new/x.json']?.type).toBe('file');

    // Now authoritative: kept files and strays go, protected files and the state folder stay.
    mkdirSync(join(target, 'local'));
    writeFileSync(join(target, 'local/mine.txt'), 'mine');
    writeFileSync(join(target, 'stray.txt'), 'stray');
    const { plan: p3 } = await deploy(target, repo.dir, v2, { mode: 'authoritative', protect: ['local/**'] });
    expect(p3.deletes.map((d) => d.path).sort()).toEqual([
      'b.json',
      'dir/deep/c.json',
      'old/x.json',
      'stray.txt',
    ]);
    const expected = snapshot(repo.dir, ['.git']);
    expected['local'] = { type: 'dir' };
    expected['local/mine.txt'] = { type: 'file', content: 'mine', exec: false };
    expect(snapshot(target)).toEqual(expected);
    expect(existsSync(join(target, 'dir'))).toBe(false); // emptied folders are pruned
  });

  it('rollback restores the previous release byte for byte, with fresh mtimes', async () => {
    const { repo, target } = setup();
    const v1 = repo.commit(V1);
    const v2 = repo.commit(V2);
    await deploy(target, repo.dir, v1);
    const before = snapshot(target);
    const oldTime = new Date('2020-01-01T00:00:00Z');
    const { utimesSync } = await import('node:fs');
    utimesSync(join(target, 'a.json'), oldTime, oldTime);
    await deploy(target, repo.dir, v2, { mode: 'authoritative' });
    expect(snapshot(target)).not.toEqual(before);
    const r = await rollback(target);
    expect(r.restored).toBe(v1);
    expect(snapshot(target)).toEqual(before);
    expect(statSync(join(target, 'a.json')).mtimeMs).toBeGreaterThan(oldTime.getTime() + 1000);
    const state = JSON.parse(readFileSync(join(target, '.diffship/state.json'), 'utf8'));
    expect(state.release).toBe(v1);
    // One more rollback goes back to "nothing recorded" and removes the files v1 added.
    await rollback(target);
    expect(snapshot(target)).toEqual({});
    expect(existsSync(join(target, '.diffship/state.json'))).toBe(false);
    await expect(rollback(target)).rejects.toThrow(/no backup to roll back to/);
  });

  it('drift: fail writes nothing and lists the file; overwrite backs it up; skip leaves it', async () => {
    const { repo, target } = setup();
    const v1 = repo.commit(V1);
    const v2 = repo.commit(V2);
    await deploy(target, repo.dir, v1);
    writeFileSync(join(target, 'a.json'), 'edited by hand');
    const before = snapshot(target);
    await expect(deploy(target, repo.dir, v2)).rejects.toThrow(/a\.json.*on-drift: overwrite/);
    expect(snapshot(target)).toEqual(before);

    const { plan: skip } = await deploy(target, repo.dir, v2, { onDrift: 'skip' });
    expect(skip.changes.drift).toEqual(['a.json']);
    expect(readFileSync(join(target, 'a.json'), 'utf8')).toBe('edited by hand');
    await rollback(target);

    const { plan: over } = await deploy(target, repo.dir, v2, { onDrift: 'overwrite' });
    expect(over.changes.drift).toEqual(['a.json']);
    expect(readFileSync(join(target, 'a.json'), 'utf8')).toBe('{"v":2}');
    await rollback(target);
    expect(readFileSync(join(target, 'a.json'), 'utf8')).toBe('edited by hand');
  });

  it('refuses to write through a symlinked folder on the target and leaves everything untouched', async () => {
    const { repo, target } = setup();
    const outside = tempDir('diffship-outside-');
    cleanups.push(() => rmSync(outside, { recursive: true, force: true }));
    const v1 = repo.commit({ 'dir/deep/c.json': 'cee', 'top.json': 'top' });
    symlinkSync(outside, join(target, 'dir'));
    await expect(deploy(target, repo.dir, v1)).rejects.toThrow(/dir is a symlink/);
    expect(snapshot(outside, [])).toEqual({});
    expect(snapshot(target)).toEqual({ dir: { type: 'symlink', content: outside } });
  });

  it('max-deletes stops an authoritative deploy before any write', async () => {
    const { repo, target } = setup();
    const v1 = repo.commit({ 'a.json': 'a' });
    for (const n of ['x', 'y', 'z']) writeFileSync(join(target, n), n);
    await expect(deploy(target, repo.dir, v1, { mode: 'authoritative', maxDeletes: 2 })).rejects.toThrow(
      /delete 3 file\(s\), more than max-deletes: 2/,
    );
    expect(Object.keys(snapshot(target)).sort()).toEqual(['x', 'y', 'z']);
  });

  it('a second deploy is locked out and names the holder; a dead holder is taken over with a warning', async () => {
    const { repo, target } = setup();
    const v1 = repo.commit(V1);
    const first = await TargetSession.open({
      transport: new LocalTransport(target),
      stateDir: '.diffship',
      command: 'deploy',
    });
    await expect(
      TargetSession.open({ transport: new LocalTransport(target), stateDir: '.diffship', command: 'deploy' }),
    ).rejects.toMatchObject({ code: 'E_LOCK', message: expect.stringContaining(`pid ${process.pid}`) });
    await first.close();
    // A lock left by a process that no longer exists on this machine.
    const { hostname } = await import('node:os');
    const dead = {
      deployId: 'x',
      command: 'deploy',
      user: 'u',
      host: hostname(),
      pid: 999_999,
      since: new Date().toISOString(),
      leaseUntil: new Date(Date.now() + 60_000).toISOString(),
    };
    writeFileSync(join(target, '.diffship/lock.json'), JSON.stringify(dead));
    const warnings: string[] = [];
    const log: Logger = { debug() {}, info() {}, error() {}, warn: (m) => warnings.push(m) };
    await deploy(target, repo.dir, v1, {}, log);
    expect(warnings.join('\n')).toMatch(/stale lock.*999999 .*is gone/);
  });

  it('a file standing where the release needs a folder is replaced in authoritative mode', async () => {
    const { repo, target } = setup();
    const v1 = repo.commit({ x: 'file' });
    const v2 = repo.commit({ 'x/inner.json': 'now a folder' });
    await deploy(target, repo.dir, v1);
    await deploy(target, repo.dir, v2, { mode: 'authoritative' });
    expect(snapshot(target)).toEqual(snapshot(repo.dir, ['.git']));
    await rollback(target);
    expect(snapshot(target)).toEqual({ x: { type: 'file', content: 'file', exec: false } });
  });

  it('a rerun of the same release is unchanged and writes nothing', async () => {
    const { repo, target } = setup();
    const v1 = repo.commit(V1);
    await deploy(target, repo.dir, v1);
    const { result, plan } = await deploy(target, repo.dir, v1);
    expect(result.changed).toBe(false);
    expect(plan.writes).toEqual([]);
  });
});

describe('a commit that fails half-way', () => {
  it('is undone at once: the target is wholly the old release, no journal left', async () => {
    const { repo, target } = setup();
    const v1 = repo.commit(V1);
    const v2 = repo.commit(V2);
    await deploy(target, repo.dir, v1);
    const before = snapshot(target);
    // A real local transport whose third rename into place fails, as a full disk would make it.
    const real = new LocalTransport(target);
    let renames = 0;
    const faulty = Object.create(real) as LocalTransport;
    faulty.rename = async (from: string, to: string) => {
      if (!from.includes('/staging/') || to.startsWith('.diffship')) return real.rename(from, to);
      if (++renames === 3) throw new Error('ENOSPC: no space left on device');
      return real.rename(from, to);
    };
    const s = await TargetSession.open({ transport: faulty, stateDir: '.diffship', command: 'deploy' });
    try {
      const plan = await s.plan({ repo: repo.dir, to: v2, mode: 'authoritative', onDrift: 'fail' });
      await expect(s.apply(plan, repo.dir)).rejects.toThrow(/ENOSPC/);
    } finally {
      await s.close();
    }
    expect(renames).toBeGreaterThan(3); // the failure, then the undo's own renames
    expect(snapshot(target)).toEqual(before);
    expect(existsSync(join(target, '.diffship/journal.json'))).toBe(false);
    expect(JSON.parse(readFileSync(join(target, '.diffship/state.json'), 'utf8')).release).toBe(v1);
  });
});
