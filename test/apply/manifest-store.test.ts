/**
 * The manifest in its own file (state version 3, issue 13), on real local and
 * SSH targets: one rename commits state and manifest; a crash between the
 * manifest's write and the state's rename leaves the old state working and the
 * stray file is cleaned up; a corrupted, truncated, swapped or missing file is
 * E_STATE naming it; a rollback brings the old manifest back; only the
 * manifests a state or backup needs are kept; an inline version 2 state is
 * upgraded by the next deploy (and rolled back to).
 */
import {
  copyFileSync,
  existsSync,
  readdirSync,
  readFileSync,
  rmSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { TargetSession } from '../../src/apply/session.js';
import { LocalTransport } from '../../src/transport/local/local-transport.js';
import { SshTransport } from '../../src/transport/ssh/ssh-transport.js';
import type { Transport } from '../../src/transport/transport.js';
import type { PlanOptions } from '../../src/observe/plan-target.js';
import { DiffshipError } from '../../src/errors.js';
import { makeRepo, snapshot, type Tree } from '../helpers/repo.js';
import { tempDir } from '../helpers/git.js';
import { startSshd, type Sshd } from '../helpers/sshd.js';
import { recordedFiles, stateJson } from '../helpers/manifest.js';
import { recording } from '../helpers/recording.js';

let sshd: Sshd;
beforeAll(async () => {
  sshd = await startSshd();
});
afterAll(async () => {
  await sshd?.stop();
});

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

type Kind = 'local' | 'ssh';
const transportFor = (kind: Kind, root: string): Transport =>
  kind === 'local' ? new LocalTransport(root) : new SshTransport(sshd.sshOptions(), root);

const V1: Tree = {
  'a.txt': 'one\n',
  'b/c.txt': 'cee\n',
  'b/gone.txt': 'gone\n',
  'run.sh': { content: 'x\n', mode: 0o755 },
};
const V2: Tree = {
  'a.txt': 'two\n',
  'b/c.txt': 'cee\n',
  'd.txt': 'new\n',
  'run.sh': { content: 'x\n', mode: 0o755 },
};

function setup(kind: Kind) {
  const repo = makeRepo();
  const target = tempDir('diffship-manifest-store-');
  cleanups.push(repo.cleanup, () => rmSync(target, { recursive: true, force: true }));
  return { repo, target, t: () => transportFor(kind, target) };
}

async function deploy(t: Transport, repo: string, to: string, over: Partial<PlanOptions> = {}) {
  const s = await TargetSession.open({ transport: t, stateDir: '.diffship', command: 'deploy' });
  try {
    const plan = await s.plan({ repo, to, mode: 'authoritative', onDrift: 'fail', ...over });
    const result = await s.apply(plan, repo);
    return { plan, result, deployId: s.deployId };
  } finally {
    await s.close();
  }
}

async function rollback(t: Transport) {
  const s = await TargetSession.open({ transport: t, stateDir: '.diffship', command: 'rollback' });
  try {
    return await s.rollback();
  } finally {
    await s.close();
  }
}

const manifests = (target: string) => readdirSync(join(target, '.diffship/manifests')).sort();
const refOf = (target: string) =>
  stateJson(target).manifestFile as { file: string; sha256: string; size: number };
const manifestPath = (target: string) => join(target, '.diffship/manifests', refOf(target).file);

/** The error an open of the target throws (deploy or read-only), or null. */
async function openError(t: Transport, readOnly: boolean): Promise<DiffshipError | null> {
  try {
    const s = await TargetSession.open({ transport: t, stateDir: '.diffship', command: 'deploy', readOnly });
    await s.close();
    return null;
  } catch (error) {
    return error as DiffshipError;
  }
}

describe.each(['local', 'ssh'] as const)('the manifest file (%s target)', (kind) => {
  it('is named by the deploy, referenced with its size and hash, and alone in its folder', async () => {
    const { repo, target, t } = setup(kind);
    const v1 = repo.commit(V1);
    const { deployId } = await deploy(t(), repo.dir, v1);
    const state = stateJson(target);
    expect(state.version).toBe(3);
    expect(state).not.toHaveProperty('manifest');
    const ref = refOf(target);
    expect(ref.file).toBe(`${deployId}.tsv`);
    const bytes = readFileSync(manifestPath(target));
    expect(ref.size).toBe(bytes.length);
    expect(ref.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect(recordedFiles(target)!.map((f) => f.path)).toEqual(['a.txt', 'b/c.txt', 'b/gone.txt', 'run.sh']);
    expect(manifests(target)).toEqual([ref.file]);
  });

  it('a rollback restores the previous manifest (kept alive by the backup), then only it is kept', async () => {
    const { repo, target, t } = setup(kind);
    const v1 = repo.commit(V1);
    const first = await deploy(t(), repo.dir, v1);
    const filesV1 = recordedFiles(target);
    const textV1 = readFileSync(manifestPath(target), 'utf8');
    const v2 = repo.commit(V2);
    const second = await deploy(t(), repo.dir, v2);
    // The old manifest left the folder; the backup holds it.
    expect(manifests(target)).toEqual([`${second.deployId}.tsv`]);
    const kept = join(target, '.diffship/backups', second.deployId, 'previous-manifest.tsv');
    expect(readFileSync(kept, 'utf8')).toBe(textV1);
    expect(recordedFiles(target)!.map((f) => f.path)).toEqual(['a.txt', 'b/c.txt', 'd.txt', 'run.sh']);

    const r = await rollback(t());
    expect(r.restored).toBe(v1);
    expect(refOf(target).file).toBe(`${first.deployId}.tsv`);
    expect(manifests(target)).toEqual([`${first.deployId}.tsv`]);
    expect(readFileSync(manifestPath(target), 'utf8')).toBe(textV1);
    // The state reads, and a deploy planned from the restored manifest is right.
    const again = await deploy(t(), repo.dir, v2, { fromManifest: true });
    expect(again.plan.changes.updated).toEqual(['a.txt']);
    expect(again.plan.changes.added).toEqual(['d.txt']);
    expect(again.plan.changes.deleted).toEqual(['b/gone.txt']);
    expect(filesV1).toHaveLength(4);
  });

  it.each([
    ['corrupted', (p: string) => writeFileSync(p, readFileSync(p, 'utf8').replace('a.txt', 'A.txt'))],
    ['truncated', (p: string) => writeFileSync(p, readFileSync(p).subarray(0, 40))],
    ['missing', (p: string) => rmSync(p)],
  ])('a %s manifest is E_STATE naming its file; nothing is written', async (_what, spoil) => {
    const { repo, target, t } = setup(kind);
    await deploy(t(), repo.dir, repo.commit(V1));
    const file = `.diffship/manifests/${refOf(target).file}`;
    spoil(join(target, file));
    const before = snapshot(target, []);
    for (const readOnly of [true, false]) {
      const error = await openError(t(), readOnly);
      expect(error?.code).toBe('E_STATE');
      expect(error?.message).toContain(file);
    }
    // A deploy refuses too, before writing anything (its lock is gone again).
    const v2 = repo.commit(V2);
    await expect(deploy(t(), repo.dir, v2)).rejects.toMatchObject({ code: 'E_STATE' });
    expect(snapshot(target, [])).toEqual(before);
  });

  it('a manifest of another size (a huge file in its place) is refused from its lstat, never read', async () => {
    const { repo, target, t } = setup(kind);
    await deploy(t(), repo.dir, repo.commit(V1));
    const file = `.diffship/manifests/${refOf(target).file}`;
    writeFileSync(join(target, file), Buffer.alloc(3 << 20, 'x'));
    const { transport, calls } = recording(t());
    const error = await openError(transport, true);
    expect(error?.code).toBe('E_STATE');
    expect(error?.message).toContain(file);
    expect(error?.message).toMatch(/is not the one the state names/);
    const reads = calls.filter((c) => (c.op === 'readFile' || c.op === 'openRead') && c.path === file);
    expect(reads).toEqual([]);
  });

  it('a state naming a manifest over 2 GiB (a sparse one of that size in place) is refused, the manifest never read', async () => {
    const { repo, target, t } = setup(kind);
    await deploy(t(), repo.dir, repo.commit(V1));
    const file = `.diffship/manifests/${refOf(target).file}`;
    const size = 2 * 1024 ** 3 + 1;
    writeFileSync(join(target, file), '');
    truncateSync(join(target, file), size);
    const state = stateJson(target);
    state.manifestFile = { ...(state.manifestFile as object), size };
    writeFileSync(join(target, '.diffship/state.json'), JSON.stringify(state));
    const { transport, calls } = recording(t());
    const error = await openError(transport, true);
    expect(error?.code).toBe('E_STATE');
    expect(error?.message).toMatch(
      /manifestFile\.size is over 2 GiB, more than diffship reads of a manifest/,
    );
    const reads = calls.filter((c) => (c.op === 'readFile' || c.op === 'openRead') && c.path === file);
    expect(reads).toEqual([]);
  });

  it('a swapped manifest (another deploy’s, same name) is E_STATE naming it', async () => {
    const { repo, target, t } = setup(kind);
    await deploy(t(), repo.dir, repo.commit(V1));
    const { deployId } = await deploy(t(), repo.dir, repo.commit(V2));
    copyFileSync(join(target, '.diffship/backups', deployId, 'previous-manifest.tsv'), manifestPath(target));
    const error = await openError(t(), false);
    expect(error?.code).toBe('E_STATE');
    expect(error?.message).toContain(`.diffship/manifests/${deployId}.tsv`);
    expect(error?.message).toMatch(/truncated, swapped or edited/);
  });

  it('a crash between the manifest write and the state rename: the old state works, the stray file goes', async () => {
    const { repo, target, t } = setup(kind);
    const v1 = repo.commit(V1);
    const first = await deploy(t(), repo.dir, v1);
    const snapV1 = snapshot(target);
    const v2 = repo.commit(V2);
    const dying = crashAt(t(), (op, path, to) => op === 'rename' && to === '.diffship/state.json');
    await expect(deploy(dying.transport, repo.dir, v2)).rejects.toThrow(/crashed/);
    // What the crash left: the new manifest written, the state still the old one, a journal.
    expect(manifests(target)).toHaveLength(2);
    expect(refOf(target).file).toBe(`${first.deployId}.tsv`);
    expect(existsSync(join(target, '.diffship/journal.json'))).toBe(true);
    rmSync(join(target, '.diffship/lock.json')); // the dead process's lock, taken over

    const s = await TargetSession.open({ transport: t(), stateDir: '.diffship', command: 'deploy' });
    try {
      expect(s.recovered).toMatch(/undid interrupted deploy/);
      expect(s.state?.release).toBe(v1);
      expect(s.state?.manifest?.files).toHaveLength(4);
    } finally {
      await s.close();
    }
    expect(snapshot(target)).toEqual(snapV1);
    expect(manifests(target)).toEqual([`${first.deployId}.tsv`]);
    await deploy(t(), repo.dir, v2);
    expect(recordedFiles(target)!.map((f) => f.path)).toEqual(['a.txt', 'b/c.txt', 'd.txt', 'run.sh']);
  });
});

/**
 * The transport of a process that dies when `at` matches a call: that call and
 * every later one fail, so nothing after it reaches the target (as with SIGKILL).
 */
function crashAt(real: Transport, at: (op: string, path: string, to: string) => boolean) {
  let dead = false;
  const transport = new Proxy(real, {
    get(target, prop) {
      // A publish runs as its steps (json-file.ts falls back to them) so that a crash lands
      // between them: the states the helper's chained records stop at (publish.ts). So does
      // a manifest patched with its state behind it (helper-patch.ts): written, then the state.
      if (prop === 'publishFile' || prop === 'patchFile') return undefined;
      const value = Reflect.get(target, prop, target) as unknown;
      if (typeof value !== 'function' || prop === 'close') return value;
      return (...args: unknown[]) => {
        if (!dead && at(String(prop), String(args[0] ?? ''), String(args[1] ?? ''))) dead = true;
        if (dead) return Promise.reject(new Error('crashed'));
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { transport };
}

describe.each(['local', 'ssh'] as const)(
  'manifest pruning and the upgrade from version 2 (%s target)',
  (kind) => {
    it('five deploys keep one manifest in the folder and one per backup; strays go, foreign files stay', async () => {
      const { repo, target, t } = setup(kind);
      const ids: string[] = [];
      for (let i = 1; i <= 5; i++)
        ids.push((await deploy(t(), repo.dir, repo.commit({ ...V1, 'a.txt': `v${i}\n` }))).deployId);
      // Locally, beside it, the walk its deploy left for the next one (observe/walk-echo.ts).
      const echo = kind === 'local' ? [`${ids[4]}.walk`] : [];
      expect(manifests(target)).toEqual([`${ids[4]}.tsv`, ...echo]);
      const backups = readdirSync(join(target, '.diffship/backups')).sort();
      expect(backups).toEqual(ids.slice(2));
      for (const b of backups)
        expect(existsSync(join(target, '.diffship/backups', b, 'previous-manifest.tsv'))).toBe(true);
      // A stray manifest and echo (a deploy that died before its state) and a file that is not diffship's.
      writeFileSync(join(target, '.diffship/manifests/20990101T000000000Z-abcdef.tsv'), 'stray\n');
      writeFileSync(join(target, '.diffship/manifests/20990101T000000000Z-abcdef.walk'), 'stray\n');
      writeFileSync(join(target, '.diffship/manifests/notes.txt'), 'mine\n');
      await deploy(t(), repo.dir, repo.commit({ ...V1, 'a.txt': 'v6\n' }));
      const kept = refOf(target).file;
      const echoOf = kind === 'local' ? [kept.replace(/\.tsv$/, '.walk')] : [];
      expect(manifests(target)).toEqual([kept, ...echoOf, 'notes.txt'].sort());
    });

    it('an inline version 2 state is read, the next deploy writes version 3 with its stats, a rollback returns to it', async () => {
      const { repo, target, t } = setup(kind);
      const v1 = repo.commit(V1);
      await deploy(t(), repo.dir, v1);
      const files = recordedFiles(target)!;
      // The state as the last release wrote it: version 2, manifest inline, no manifests folder.
      const { manifestFile: _ref, ...rest } = stateJson(target);
      const v2State = { ...rest, version: 2, manifest: { version: 1, files } };
      writeFileSync(join(target, '.diffship/state.json'), JSON.stringify(v2State, null, 2));
      rmSync(join(target, '.diffship/manifests'), { recursive: true });

      const v2 = repo.commit(V2);
      const { deployId, plan } = await deploy(t(), repo.dir, v2);
      expect(plan.note).toBeUndefined(); // planned from the recorded commit
      const state = stateJson(target);
      expect(state.version).toBe(3);
      expect(refOf(target).file).toBe(`${deployId}.tsv`);
      const next = recordedFiles(target)!;
      expect(next.map((f) => f.path)).toEqual(['a.txt', 'b/c.txt', 'd.txt', 'run.sh']);
      // Untouched files carry their stat over; written ones get a fresh one.
      const stat = (p: string, fs: typeof files) => fs.find((f) => f.path === p)?.stat;
      expect(stat('b/c.txt', next)).toEqual(stat('b/c.txt', files));
      // Both kinds take stats (SSH through its file helper).
      expect(stat('b/c.txt', next)).toBeDefined();
      expect(stat('a.txt', next)?.ino).not.toBe(stat('a.txt', files)?.ino);
      // The backup keeps the inline state (there is no file for it to link).
      const backup = JSON.parse(
        readFileSync(join(target, '.diffship/backups', deployId, 'manifest.json'), 'utf8'),
      );
      expect(backup.previousState.version).toBe(2);
      expect(existsSync(join(target, '.diffship/backups', deployId, 'previous-manifest.tsv'))).toBe(false);

      await rollback(t());
      expect(stateJson(target)).toEqual(v2State);
      expect(readdirSync(join(target, '.diffship/manifests'))).toEqual([]);
      const s = await TargetSession.open({
        transport: t(),
        stateDir: '.diffship',
        command: 'deploy',
        readOnly: true,
      });
      expect(s.state?.manifest?.files).toEqual(files);
      await s.close();
    });
  },
);

describe('the manifest cache and forged manifests (local target)', () => {
  it('a second open of the same target (preflight, then the deploy) reads the manifest once; a rewritten file is read again', async () => {
    const { repo, target, t } = setup('local');
    await deploy(t(), repo.dir, repo.commit(V1));
    const file = `.diffship/manifests/${refOf(target).file}`;
    const reads = async (readOnly: boolean) => {
      const { transport, calls } = recording(t());
      const s = await TargetSession.open({ transport, stateDir: '.diffship', command: 'deploy', readOnly });
      expect(s.state?.manifest?.files).toHaveLength(4);
      await s.close();
      return calls.filter((c) => c.op === 'readFile' && c.path === file).length;
    };
    expect(await reads(true)).toBe(1);
    expect(await reads(false)).toBe(0);
    // Rewritten (a new mtime): read and checked again, so an edit is never hidden by the cache.
    await new Promise((r) => setTimeout(r, 20));
    writeFileSync(join(target, file), readFileSync(join(target, file)));
    expect(await reads(true)).toBe(1);
    await new Promise((r) => setTimeout(r, 20));
    writeFileSync(join(target, file), readFileSync(join(target, file), 'utf8').replace('a.txt', 'A.txt'));
    expect(await openError(t(), true)).toMatchObject({ code: 'E_STATE' });
  });

  it('a manifest edited along with its hash: a bad line is E_STATE naming it when used; nothing is written', async () => {
    const { repo, target, t } = setup('local');
    const v1 = repo.commit(V1);
    await deploy(t(), repo.dir, v1);
    const forge = (edit: (text: string) => string) => {
      const path = manifestPath(target);
      const text = edit(readFileSync(path, 'utf8'));
      writeFileSync(path, text);
      const state = stateJson(target);
      const bytes = Buffer.from(text);
      const sha256 = createHash('sha256').update(bytes).digest('hex');
      state.manifestFile = { ...(state.manifestFile as object), size: bytes.length, sha256 };
      writeFileSync(join(target, '.diffship/state.json'), JSON.stringify(state, null, 2));
    };
    // A line the deploy changes (a.txt is updated): checked by the merge, before any write.
    forge((text) => text.replace(/^[0-9a-f]{40}(\t100644\t[^\t]*\ta\.txt)$/m, 'zz$1'));
    const before = snapshot(target, []);
    const v2 = repo.commit(V2);
    const error = await deploy(t(), repo.dir, v2).catch((e: unknown) => e as DiffshipError);
    expect(error).toMatchObject({ code: 'E_STATE' });
    // Authoritative mode reads every line (its stat cache) before the merge does: either names it.
    expect((error as Error).message).toContain(`manifests/${refOf(target).file}: manifest `);
    expect((error as Error).message).toMatch(/manifest (line \d+ )?entry "a\.txt" has a bad blob id "zz"/);
    expect(snapshot(target, [])).toEqual(before);
    // An unsafe path: refused wherever the lines are read (here, a plan from the manifest).
    forge((text) => text.replace(/zz(\t100644\t[^\t]*\t)a\.txt$/m, `${'1'.repeat(40)}$1../../outside.txt`));
    const forged = snapshot(target, []);
    const planned = await deploy(t(), repo.dir, v2, { fromManifest: true }).catch(
      (e: unknown) => e as DiffshipError,
    );
    expect(planned).toMatchObject({ code: 'E_STATE' });
    expect((planned as Error).message).toContain('line 2 has an unsafe path "../../outside.txt"');
    expect(snapshot(target, [])).toEqual(forged);
  });
});
