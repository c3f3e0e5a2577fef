/**
 * A deploy cut off between its backup's listing and its journal leaves a complete backup of a
 * deploy that never committed. The next run removes it (leftover-backups.ts): it undoes nothing,
 * and it must not count among the backups kept nor be what a rollback restores. The cut-off
 * target is the real one, copied at the very moment the journal would be renamed into place
 * (what a kill, or a power loss after the sync, leaves), its lock's holder made a gone process.
 * The journal's temporary, written but never renamed, goes too.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { LocalTransport } from '../../src/transport/local/local-transport.js';
import { TargetSession } from '../../src/apply/session.js';
import type { Transport } from '../../src/transport/transport.js';
import type { Logger } from '../../src/log.js';
import { SshTransport } from '../../src/transport/ssh/ssh-transport.js';
import { makeRepo, snapshot } from '../helpers/repo.js';
import { sshSuite } from '../helpers/ssh-suite.js';
import { tempDir } from '../helpers/git.js';
import { warnings } from '../helpers/warnings.js';
import { cli } from '../helpers/cli.js';
import { inspectTarget } from '../../src/apply/inspect.js';

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

function folder(prefix: string): string {
  const dir = tempDir(prefix);
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function open(transport: Transport, log?: Logger, command: 'deploy' | 'rollback' = 'deploy') {
  return TargetSession.open({ transport, stateDir: '.diffship', command, log });
}

async function deploy(transport: Transport, repo: string, to: string, log?: Logger) {
  const s = await open(transport, log);
  try {
    const plan = await s.plan({ repo, to, mode: 'additive', onDrift: 'fail' });
    await s.apply(plan, repo);
    return { deployId: s.deployId, recovered: s.recovered };
  } finally {
    await s.close();
  }
}

/** What `diffship status` says of the target (read-only). */
const status = (transport: Transport, repo: string) =>
  inspectTarget('t', transport, { repo, stateDir: '.diffship' });

const backupsOf = (dir: string) => readdirSync(join(dir, '.diffship/backups')).sort();
const stateOf = (dir: string) =>
  JSON.parse(readFileSync(join(dir, '.diffship/state.json'), 'utf8')) as {
    deployId: string;
    release: string;
  };

/**
 * `target` as it stands when the deploy of `to` is about to rename its journal into place: its
 * backup complete, nothing of the release in place yet. The deploy itself is stopped there.
 */
async function cutBeforeJournal(
  target: string,
  repo: string,
  to: string,
  transport: (root: string) => Transport,
): Promise<string> {
  const image = folder('diffship-cut-image-');
  const real = transport(target);
  const cut = new Proxy(real, {
    get(on, prop) {
      // Every write on its own (no chained publish), so the journal's rename can be caught alone.
      if (prop === 'publishFile') return undefined;
      const value = Reflect.get(on, prop, on) as unknown;
      if (prop !== 'rename' || typeof value !== 'function') return value;
      return async (from: string, to: string) => {
        if (to === '.diffship/journal.json') {
          cpSync(target, image, { recursive: true, verbatimSymlinks: true });
          throw new Error('cut off before the journal');
        }
        return (value as (a: string, b: string) => Promise<void>).call(on, from, to);
      };
    },
  });
  await expect(deploy(cut, repo, to)).rejects.toThrow();
  // The killed run's lock stays behind, its process gone.
  const lockFile = join(image, '.diffship/lock.json');
  const gone = spawnSync('true').pid!;
  writeFileSync(lockFile, JSON.stringify({ ...JSON.parse(readFileSync(lockFile, 'utf8')), pid: gone }));
  return image;
}

const ssh = sshSuite('uncommitted');
const over = {
  local: (root: string): Transport => new LocalTransport(root),
  ssh: (root: string): Transport => new SshTransport(ssh.sshd.sshOptions(), root),
};

describe('a complete backup of a deploy that never committed', () => {
  it.each(['local', 'ssh'] as const)(
    'is removed by the next run, which keeps the three real backups; a rollback then undoes the real last deploy (%s)',
    async (kind) => {
      const transport = over[kind];
      const repo = makeRepo();
      cleanups.push(repo.cleanup);
      const target = folder('diffship-uncommitted-');
      const releases = [1, 2, 3, 4].map((i) =>
        repo.commit({ 'a.txt': `version ${i}`, [`only-${i}.txt`]: `${i}` }),
      );
      const ids: string[] = [];
      for (const v of releases.slice(0, 3)) ids.push((await deploy(transport(target), repo.dir, v)).deployId);
      const v3 = snapshot(target);

      const image = await cutBeforeJournal(target, repo.dir, releases[3]!, transport);
      // What the cut left: a fourth, complete backup taken over the recorded deploy, no journal.
      const orphan = backupsOf(image).find((name) => !ids.includes(name))!;
      expect(orphan).toBeDefined();
      expect(existsSync(join(image, '.diffship/backups', orphan, 'manifest.json'))).toBe(true);
      expect(existsSync(join(image, '.diffship/journal.json'))).toBe(false);
      expect(
        readdirSync(join(image, '.diffship')).filter((n) => n.startsWith('journal.json.tmp-')),
      ).toHaveLength(1);
      expect(stateOf(image).deployId).toBe(ids[2]);
      const listing = JSON.parse(
        readFileSync(join(image, '.diffship/backups', orphan, 'manifest.json'), 'utf8'),
      );
      expect(listing.previousState.deployId).toBe(ids[2]);
      expect(snapshot(image)['a.txt']).toEqual(v3['a.txt']);

      // Status, read-only, tells it apart: not among the backups a rollback can restore.
      const seen = await status(transport(image), repo.dir);
      expect(seen.backups).toEqual([...ids].reverse());
      expect(seen.uncommittedBackups).toEqual([orphan]);
      expect(seen.interrupted).toBe(false);
      expect(backupsOf(image)).toContain(orphan);
      // While a live deploy holds the lock, its backup may be in flight (between its listing and its
      // journal): not judged, listed among the backups as before.
      const lockFile = join(image, '.diffship/lock.json');
      const cutLock = readFileSync(lockFile, 'utf8');
      writeFileSync(
        lockFile,
        JSON.stringify({
          ...JSON.parse(cutLock),
          host: hostname(),
          pid: process.pid,
          leaseUntil: new Date(Date.now() + 60_000).toISOString(),
        }),
      );
      const live = await status(transport(image), repo.dir);
      expect(live.lock?.stale).toBeNull();
      expect(live.backups).toEqual([orphan, ...[...ids].reverse()]);
      expect(live.uncommittedBackups).toBeUndefined();
      writeFileSync(lockFile, cutLock);
      if (kind === 'local') {
        const ws = folder('diffship-uncommitted-ws-');
        writeFileSync(join(ws, 'diffship.yml'), `targets:\n  - { name: t, type: local, path: ${image} }\n`);
        const r = cli(ws, ['status', '--repo', repo.dir]);
        expect(r.code).toBe(0);
        expect(r.stdout).toContain('backups:  3 ');
        expect(r.stdout).toContain(
          `leftover: backup ${orphan} of a deploy cut off before its commit (it undoes nothing) — the next deploy or rollback removes it`,
        );
        // Named in a rollback anyway (on a copy): removed as the rollback opens, which says so and refuses.
        const copy = folder('diffship-uncommitted-copy-');
        cpSync(image, copy, { recursive: true, verbatimSymlinks: true });
        const s = await open(new LocalTransport(copy), undefined, 'rollback');
        try {
          expect(s.recovered).toContain(`removed backup ${orphan}`);
          await expect(s.rollback(orphan)).rejects.toThrow(`no backup to roll back to for deploy ${orphan}`);
        } finally {
          await s.close();
        }
        expect(stateOf(copy).deployId).toBe(ids[2]);
        expect(backupsOf(copy)).toEqual([...ids].sort());
      }

      // Not a temporary of diffship's (its name), so not removed.
      writeFileSync(join(image, '.diffship/state.json.tmp-mine'), 'x');

      // The rerun: it says what it removed, and its own backup makes the third kept.
      const { log, lines } = warnings();
      const rerun = await deploy(transport(image), repo.dir, releases[3]!, log);
      expect(rerun.recovered).toContain(`removed backup ${orphan}`);
      expect(lines.join('\n')).toContain(
        `removed backup ${orphan}: its deploy was cut off before its commit`,
      );
      expect(backupsOf(image)).toEqual([ids[1], ids[2], rerun.deployId].sort());
      expect(stateOf(image).release).toBe(releases[3]);
      // The cut journal's temporary went too: nothing but diffship's own files is left.
      expect(readdirSync(join(image, '.diffship')).sort()).toEqual([
        'backups',
        'manifests',
        'state.json',
        'state.json.tmp-mine',
      ]);

      // Two rollbacks: the rerun's deploy, then the third: each restores its own previous release.
      for (const n of [3, 2]) {
        const s = await open(transport(image), undefined, 'rollback');
        try {
          expect((await s.rollback()).restored).toBe(releases[n - 1]);
        } finally {
          await s.close();
        }
        expect(readFileSync(join(image, 'a.txt'), 'utf8')).toBe(`version ${n}`);
        expect(existsSync(join(image, `only-${n + 1}.txt`))).toBe(false);
      }
    },
  );

  it('a later deploy’s backup that a named rollback left newer than the recorded state stays', async () => {
    const repo = makeRepo();
    cleanups.push(repo.cleanup);
    const target = folder('diffship-uncommitted-');
    const releases = [1, 2, 3].map((i) => repo.commit({ 'a.txt': `version ${i}` }));
    const ids: string[] = [];
    for (const v of releases) ids.push((await deploy(new LocalTransport(target), repo.dir, v)).deployId);
    // Roll back the second deploy by name: the state is the first's again; the third's backup
    // (taken over the second, which did commit) is newer than it.
    const s = await open(new LocalTransport(target), undefined, 'rollback');
    try {
      expect((await s.rollback(ids[1])).restored).toBe(releases[0]);
    } finally {
      await s.close();
    }
    expect(stateOf(target).deployId).toBe(ids[0]);
    expect(backupsOf(target)).toContain(ids[2]);
    const seen = await status(new LocalTransport(target), repo.dir);
    expect(seen.backups).toContain(ids[2]);
    expect(seen.uncommittedBackups).toBeUndefined();

    const { log, lines } = warnings();
    const next = await deploy(new LocalTransport(target), repo.dir, releases[2]!, log);
    expect(next.recovered).toBeNull();
    expect(lines.join('\n')).not.toContain('removed backup');
    expect(backupsOf(target)).toContain(ids[2]);
  });

  it('hostile leftovers are left alone: a link named like a temporary, a newer backup whose listing is not one', async () => {
    const repo = makeRepo();
    cleanups.push(repo.cleanup);
    const target = folder('diffship-uncommitted-');
    const outside = folder('diffship-outside-');
    writeFileSync(join(outside, 'keep.txt'), 'not diffship’s');
    const v1 = repo.commit({ 'a.txt': 'one' });
    const v2 = repo.commit({ 'a.txt': 'two' });
    const first = await deploy(new LocalTransport(target), repo.dir, v1);
    // Planted on the target: a link with a temporary's name, pointing out of it; a folder named
    // like a newer backup, its listing garbage.
    symlinkSync(join(outside, 'keep.txt'), join(target, '.diffship/journal.json.tmp-0123abcd'));
    const planted = '29990101T000000000Z-abcdef';
    mkdirSync(join(target, '.diffship/backups', planted, 'files'), { recursive: true });
    writeFileSync(
      join(target, '.diffship/backups', planted, 'manifest.json'),
      `{"previousState": {"deployId": "${first.deployId}"`,
    );

    // Status, read-only, is not fooled either: the planted folder is not vouched for as a leftover.
    const seen = await status(new LocalTransport(target), repo.dir);
    expect(seen.error).toBeNull();
    expect(seen.backups).toContain(planted);
    expect(seen.uncommittedBackups).toBeUndefined();

    const { log, lines } = warnings();
    await deploy(new LocalTransport(target), repo.dir, v2, log);
    expect(readFileSync(join(target, 'a.txt'), 'utf8')).toBe('two');
    expect(lines.join('\n')).not.toContain('removed backup');
    expect(backupsOf(target)).toContain(planted);
    expect(lstatSync(join(target, '.diffship/journal.json.tmp-0123abcd')).isSymbolicLink()).toBe(true);
    expect(readFileSync(join(outside, 'keep.txt'), 'utf8')).toBe('not diffship’s');
  });
});
