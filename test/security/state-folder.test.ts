/**
 * Issue 10, target side: the state folder belongs to diffship. Each test plants
 * what someone who can write the target folder would plant (links in and
 * around `.diffship`, a journal or backup of their own, a group-writable
 * folder, a link above a path a rollback touches), against a real folder and a
 * real sshd, and checks the refusal and that nothing outside the target changed.
 */
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { inspectTarget } from '../../src/apply/inspect.js';
import { TargetSession } from '../../src/apply/session.js';
import type { DiffshipError } from '../../src/errors.js';
import { LocalTransport } from '../../src/transport/local/local-transport.js';
import { SshTransport } from '../../src/transport/ssh/ssh-transport.js';
import type { Transport } from '../../src/transport/transport.js';
import { exactTree } from '../apply/conformance.js';
import { makeRepo } from '../helpers/repo.js';
import { tempDir } from '../helpers/git.js';
import { startSshd, type Sshd } from '../helpers/sshd.js';

let sshd: Sshd;
let base: string;
let repo: ReturnType<typeof makeRepo>;
let v1: string;
let v2: string;
let counter = 0;
const open: TargetSession[] = [];

beforeAll(async () => {
  sshd = await startSshd();
  base = tempDir('diffship-sec-folder-');
  repo = makeRepo();
  v1 = repo.commit({
    'a/x.json': 'x1\n',
    'n/m/y.json': 'y1\n',
    'run.sh': { content: 'echo\n', mode: 0o755 },
  });
  v2 = repo.commit({ 'a/x.json': 'x2\n', 'b.json': 'b2\n', 'run.sh': { content: 'echo 2\n', mode: 0o755 } });
});
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close().catch(() => undefined)));
});
afterAll(async () => {
  await sshd?.stop();
  rmSync(base, { recursive: true, force: true });
  repo?.cleanup();
});

async function rejection(promise: Promise<unknown>): Promise<DiffshipError> {
  return (await promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e,
  )) as DiffshipError;
}

/** An outside folder with a file in it, and its exact content, to prove it untouched. */
function outside(): { dir: string; before: Record<string, string> } {
  const dir = join(base, `outside-${counter++}`);
  mkdirSync(join(dir, 'm'), { recursive: true });
  writeFileSync(join(dir, 'x.json'), 'not yours\n');
  writeFileSync(join(dir, 'manifest.json'), 'not yours\n');
  writeFileSync(join(dir, 'lock.json'), 'not yours\n');
  return { dir, before: exactTree(dir, []) };
}

const transports: Array<[string, (path: string) => Transport]> = [
  ['local', (path) => new LocalTransport(path)],
  ['ssh', (path) => new SshTransport(sshd.sshOptions(), path)],
];

describe.each(transports)('%s target', (_kind, makeTransport) => {
  const newTarget = () => join(base, `target-${counter++}`);

  async function session(path: string, command = 'deploy') {
    const s = await TargetSession.open({ transport: makeTransport(path), stateDir: '.diffship', command });
    open.push(s);
    return s;
  }
  async function deploy(path: string, to: string) {
    const s = await session(path);
    try {
      const plan = await s.plan({ repo: repo.dir, to, mode: 'additive', onDrift: 'overwrite' });
      return await s.apply(plan, repo.dir);
    } finally {
      await s.close();
    }
  }
  async function rollback(path: string) {
    const s = await session(path, 'rollback');
    try {
      return await s.rollback();
    } finally {
      await s.close();
    }
  }

  it('refuses a state folder that is a symlink (nothing created through it)', async () => {
    const t = newTarget();
    const o = outside();
    mkdirSync(t);
    symlinkSync(o.dir, join(t, '.diffship'));
    const error = await rejection(deploy(t, v1));
    expect(error.code).toBe('E_UNSAFE');
    expect(error.message).toContain('.diffship is a symlink');
    expect(exactTree(o.dir, [])).toEqual(o.before);
    expect(readdirSync(t)).toEqual(['.diffship']);
  });

  it('refuses staging, backups or a backup that is a symlink; pruning never follows one', async () => {
    for (const inner of ['staging', 'backups']) {
      const t = newTarget();
      const o = outside();
      mkdirSync(join(t, '.diffship'), { recursive: true });
      symlinkSync(o.dir, join(t, '.diffship', inner));
      const error = await rejection(deploy(t, v1));
      expect(error.code).toBe('E_UNSAFE');
      expect(error.message).toContain(`.diffship/${inner} is a symlink`);
      expect(exactTree(o.dir, [])).toEqual(o.before);
    }
    // A link named like a backup: pruning would unlink its manifest.json through it.
    const t = newTarget();
    const o = outside();
    await deploy(t, v1);
    symlinkSync(o.dir, join(t, '.diffship/backups/20200101T000000000Z-aaaaaa'));
    const error = await rejection(deploy(t, v2));
    expect(error.code).toBe('E_UNSAFE');
    expect(exactTree(o.dir, [])).toEqual(o.before);
    // Entries that are not deploy ids are not diffship's: left alone, never deleted.
    rmSync(join(t, '.diffship/backups/20200101T000000000Z-aaaaaa'));
    symlinkSync(o.dir, join(t, '.diffship/backups/not a backup'));
    for (const to of [v2, v1, v2, v1]) await deploy(t, to);
    expect(readdirSync(join(t, '.diffship/backups'))).toContain('not a backup');
    expect(exactTree(o.dir, [])).toEqual(o.before);
  });

  it('refuses a manifests folder or manifest file that is a symlink, or a group-writable manifest; never reads or removes through one', async () => {
    const t = newTarget();
    const o = outside();
    await deploy(t, v1);
    const dir = join(t, '.diffship/manifests');
    const [name] = readdirSync(dir);
    // The manifest the state names, swapped for a link to a file elsewhere.
    renameSync(join(dir, name!), join(base, `saved-${counter}`));
    symlinkSync(join(o.dir, 'x.json'), join(dir, name!));
    let error = await rejection(deploy(t, v2));
    expect(error.code).toBe('E_UNSAFE');
    expect(error.message).toContain(`.diffship/manifests/${name} is a symlink`);
    rmSync(join(dir, name!));
    renameSync(join(base, `saved-${counter}`), join(dir, name!));
    chmodSync(join(dir, name!), 0o666);
    error = await rejection(deploy(t, v2));
    expect(error.code).toBe('E_UNSAFE');
    expect(error.message).toMatch(/manifests\/.*\.tsv is group- or world-writable/);
    chmodSync(join(dir, name!), 0o644);
    // The whole folder a link: pruning would unlink files elsewhere.
    renameSync(dir, join(base, `saved-dir-${counter}`));
    symlinkSync(o.dir, dir);
    error = await rejection(deploy(t, v2));
    expect(error.code).toBe('E_UNSAFE');
    expect(error.message).toContain('.diffship/manifests is a symlink');
    expect(exactTree(o.dir, [])).toEqual(o.before);
  });

  it('refuses a group-writable state folder, and a journal owned by another user, naming the fix', async () => {
    const t = newTarget();
    await deploy(t, v1);
    chmodSync(join(t, '.diffship'), 0o775);
    let error = await rejection(deploy(t, v2));
    expect(error.code).toBe('E_UNSAFE');
    expect(error.message).toMatch(/\.diffship is group- or world-writable .*chmod go-w \.diffship/);
    chmodSync(join(t, '.diffship'), 0o755);
    const journal = join(t, '.diffship/journal.json');
    writeFileSync(journal, JSON.stringify({ planted: true }));
    chownSync(journal, 65534, 65534);
    error = await rejection(deploy(t, v2));
    expect(error.code).toBe('E_UNSAFE');
    expect(error.message).toMatch(/journal\.json is owned by uid 65534.*chown/);
    expect(readFileSync(join(t, 'a/x.json'), 'utf8')).toBe('x1\n');
  });

  it('a restored backup never gets setuid/setgid/sticky or group/world write; a hostile manifest is refused', async () => {
    const t = newTarget();
    await deploy(t, v1);
    await deploy(t, v2);
    const backups = join(t, '.diffship/backups');
    const id = readdirSync(backups).sort().at(-1)!;
    const manifestFile = join(backups, id, 'manifest.json');
    const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as {
      entries: Array<{ path: string; mode?: number; file?: string }>;
    };
    const good = JSON.stringify(manifest);
    for (const e of manifest.entries) if (e.mode !== undefined) e.mode = 0o7777;
    writeFileSync(manifestFile, JSON.stringify(manifest));
    await rollback(t);
    expect(statSync(join(t, 'run.sh')).mode & 0o7777).toBe(0o755);
    expect(statSync(join(t, 'a/x.json')).mode & 0o7777).toBe(0o755);
    // A manifest that would read a file from outside the backup, or restore outside the target.
    await deploy(t, v2);
    const id2 = readdirSync(backups).sort().at(-1)!;
    for (const edit of [
      (e: { path: string; file?: string }) => (e.file = '../../../../../../etc/hostname'),
      (e: { path: string; file?: string }) => (e.path = '../escape.json'),
      (e: { path: string; file?: string }) => (e.path = '.diffship/state.json'),
    ]) {
      const m = JSON.parse(good.replaceAll(id, id2)) as typeof manifest;
      edit(m.entries.find((e) => e.file !== undefined)!);
      writeFileSync(join(backups, id2, 'manifest.json'), JSON.stringify(m));
      const error = await rejection(rollback(t));
      expect(error.code).toBe('E_STATE');
      expect(error.message).toContain('manifest.json');
    }
    expect(existsSync(join(base, 'escape.json'))).toBe(false);
  });

  it('rollback and crash recovery refuse paths below a link; pruning never removes through one', async () => {
    const t = newTarget();
    const o = outside();
    await deploy(t, v1);
    // v1 added a/x.json and n/m/y.json: undoing it removes them and prunes n/m and n.
    renameSync(join(t, 'a'), join(t, 'a.moved'));
    symlinkSync(o.dir, join(t, 'a'));
    const error = await rejection(rollback(t));
    expect(error.code).toBe('E_UNSAFE');
    expect(error.message).toContain('a is a symlink');
    expect(exactTree(o.dir, [])).toEqual(o.before);
    // The journal of that rollback stays: the next run (crash recovery) refuses the same way.
    expect(existsSync(join(t, '.diffship/journal.json'))).toBe(true);
    expect((await rejection(deploy(t, v2))).code).toBe('E_UNSAFE');
    expect(exactTree(o.dir, [])).toEqual(o.before);
    // Pruning: a backup whose folders to prune lie below a link (n -> a folder holding an empty m).
    rmSync(join(t, 'a'));
    renameSync(join(t, 'a.moved'), join(t, 'a'));
    rmSync(join(t, '.diffship/journal.json'));
    const backups = join(t, '.diffship/backups');
    const id = readdirSync(backups)[0]!;
    const manifestFile = join(backups, id, 'manifest.json');
    const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as Record<string, unknown>;
    writeFileSync(manifestFile, JSON.stringify({ ...manifest, entries: [], createdDirs: ['n', 'n/m'] }));
    rmSync(join(t, 'n'), { recursive: true });
    symlinkSync(o.dir, join(t, 'n'));
    await rollback(t);
    expect(exactTree(o.dir, [])).toEqual(o.before);
  });

  it('status never reads state.json through a link (a secret elsewhere stays unread)', async () => {
    const t = newTarget();
    await deploy(t, v1);
    const secret = join(base, `secret-${counter++}.json`);
    writeFileSync(secret, readFileSync(join(t, '.diffship/state.json')));
    rmSync(join(t, '.diffship/state.json'));
    symlinkSync(secret, join(t, '.diffship/state.json'));
    const error = await rejection(
      inspectTarget('main', makeTransport(t), { repo: repo.dir, stateDir: '.diffship' }),
    );
    expect(error.code).toBe('E_UNSAFE');
    expect(error.message).toContain('state.json is a symlink');
  });
});
