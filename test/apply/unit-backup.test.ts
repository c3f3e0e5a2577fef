/** The pure half of a per-unit rollback, and the checks on what it records (hostile input when read back). */
import { describe, expect, it } from 'vitest';
import { heldBackState, inUnits, unitBackup } from '../../src/apply/unit-backup.js';
import { checked } from '../../src/apply/state-schema.js';
import type { BackupManifest } from '../../src/apply/backup.js';
import { storedState, type TargetState } from '../../src/apply/state.js';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const C = 'c'.repeat(40);
const state = (
  release: string,
  files: Array<[string, string]>,
  extra: Partial<TargetState> = {},
): TargetState => ({
  version: 3,
  manifestFile: null,
  release,
  previousRelease: null,
  deployId: 'd2',
  deployedAt: '2026-12-01T00:00:00.000Z',
  mode: 'authoritative',
  kept: [],
  manifest: { version: 1, files: files.map(([path, blob]) => ({ path, blob, mode: '100644' as const })) },
  ...extra,
});

describe('unit rollback: which entries, which state', () => {
  it('inUnits matches the unit itself and what is inside it, not a name that only starts the same', () => {
    expect(inUnits('packages/P', ['packages/P'])).toBe(true);
    expect(inUnits('packages/P/ns/a.json', ['packages/P'])).toBe(true);
    expect(inUnits('packages/PX/a.json', ['packages/P'])).toBe(false);
    expect(inUnits('apps/a.car', ['apps/a.car'])).toBe(true);
  });

  it('unitBackup keeps only the entries and created folders of the units', () => {
    const m: BackupManifest = {
      version: 1,
      deployId: 'd2',
      createdAt: 'x',
      previousState: null,
      entries: [
        { path: 'packages/P/a', action: 'restore', type: 'file', mode: 0o644, file: 'files/0' },
        { path: 'packages/P/new/b', action: 'remove' },
        { path: 'packages/Q/a', action: 'restore', type: 'file', mode: 0o644, file: 'files/2' },
        { path: 'README', action: 'remove' },
      ],
      createdDirs: ['packages/P/new', 'packages/Q/new'],
    };
    const sub = unitBackup(m, ['packages/P']);
    expect(sub.entries.map((e) => e.path)).toEqual(['packages/P/a', 'packages/P/new/b']);
    expect(sub.createdDirs).toEqual(['packages/P/new']);
  });

  it('the state keeps the release, takes the unit files of the previous state, and lists the unit held back', () => {
    const previous = state(A, [
      ['README', A],
      ['packages/P/a', A],
      ['packages/P/gone', A],
    ]);
    const now = state(
      B,
      [
        ['README', B],
        ['packages/P/a', B],
        ['packages/P/new', B],
        ['packages/Q/x', B],
      ],
      { previousRelease: A },
    );
    const next = heldBackState(now, previous, [{ name: 'P', path: 'packages/P' }]);
    expect(next.release).toBe(B);
    expect(next.previousRelease).toBe(A);
    expect(next.manifest!.files.map((f) => `${f.path}@${f.blob[0]}`)).toEqual([
      'README@b',
      'packages/P/a@a',
      'packages/P/gone@a',
      'packages/Q/x@b',
    ]);
    expect(next.heldBack).toEqual([{ name: 'P', path: 'packages/P', release: A }]);
  });

  it('a unit already held back keeps the release its files come from; no previous state: none', () => {
    const previous = state(B, [['packages/P/a', A]], {
      heldBack: [{ name: 'P', path: 'packages/P', release: A }],
    });
    const next = heldBackState(state(C, [['packages/P/a', C]]), previous, [
      { name: 'P', path: 'packages/P' },
    ]);
    expect(next.heldBack).toEqual([{ name: 'P', path: 'packages/P', release: A }]);
    const first = heldBackState(
      state(C, [
        ['packages/P/a', C],
        ['x', C],
      ]),
      null,
      [{ name: 'P', path: 'packages/P' }],
    );
    expect(first.manifest!.files.map((f) => f.path)).toEqual(['x']);
    expect(first.heldBack).toEqual([{ name: 'P', path: 'packages/P', release: null }]);
  });

  it('a previous state without a manifest makes the manifest unknown (null), not a guess', () => {
    const previous = { ...state(A, []), manifest: null };
    expect(
      heldBackState(state(B, [['packages/P/a', B]]), previous, [{ name: 'P', path: 'packages/P' }]).manifest,
    ).toBeNull();
  });
});

describe('what a unit rollback records, read back as hostile input', () => {
  const raw = (heldBack: unknown) => ({ ...state(B, []), heldBack });
  it('a valid heldBack passes; bad names, paths and releases are E_STATE naming the field', () => {
    expect(() =>
      checked('state', raw([{ name: 'P', path: 'packages/P', release: A }]), 'state.json'),
    ).not.toThrow();
    expect(() =>
      checked('state', raw([{ name: 'P', path: 'packages/P', release: null }]), 'state.json'),
    ).not.toThrow();
    expect(() => checked('state', raw([{ name: 'P', path: '../etc', release: null }]), 'state.json')).toThrow(
      /state\.json: state\.heldBack\[0\]\.path is not a safe relative path/,
    );
    expect(() =>
      checked('state', raw([{ name: 'a/b', path: 'packages/P', release: null }]), 'state.json'),
    ).toThrow(/heldBack\[0\]\.name is not a unit name/);
    expect(() =>
      checked('state', raw([{ name: 'P', path: 'packages/P', release: 'HEAD~1' }]), 'state.json'),
    ).toThrow(/heldBack\[0\]\.release is not a full object id/);
    expect(() => checked('state', raw('P'), 'state.json')).toThrow(/heldBack is not a list/);
  });

  it('a unit-rollback journal needs safe unit paths', () => {
    const journal = (paths: unknown) => ({
      version: 1,
      kind: 'unit-rollback',
      phase: 'commit',
      deployId: 'd2',
      backupId: 'd2',
      newState: null,
      paths,
    });
    expect(() => checked('journal', journal(['packages/P']), 'journal.json')).not.toThrow();
    expect(() => checked('journal', journal(['/etc']), 'journal.json')).toThrow(
      /paths\[0\] is not a safe relative path/,
    );
    expect(() => checked('journal', journal(undefined), 'journal.json')).toThrow(/paths is not a list/);
    expect(() => checked('journal', { ...journal([]), kind: 'other' }, 'journal.json')).toThrow(
      /kind is not deploy, rollback or unit-rollback/,
    );
  });
});

describe('a unit rollback cut off after its journal', () => {
  it('is finished by the next run: only the unit goes back, the state says held back, the backup stays', async () => {
    const { mkdirSync, readFileSync, realpathSync, rmSync, existsSync } = await import('node:fs');
    const path = await import('node:path');
    const { deploy } = await import('../../src/api.js');
    const { resolveConfig } = await import('../../src/config/resolve.js');
    const { makeRepo } = await import('../helpers/repo.js');
    const { tempDir } = await import('../helpers/git.js');
    const { TargetSession } = await import('../../src/apply/session.js');
    const { LocalTransport } = await import('../../src/transport/local/local-transport.js');
    const { layout } = await import('../../src/apply/layout.js');
    const { readBackup } = await import('../../src/apply/backup.js');
    const { writeJournal } = await import('../../src/apply/journal.js');
    const { readState } = await import('../../src/apply/state.js');
    const repo = makeRepo();
    const root = realpathSync(tempDir('diffship-unit-rollback-'));
    try {
      const target = path.join(root, 't');
      mkdirSync(target);
      const config = resolveConfig(
        { mode: 'authoritative', units: { match: 'packages/*' }, targets: [{ name: 't', path: target }] },
        { baseDir: root },
      );
      const v1 = repo.commit({ 'packages/P/a': 'P1\n', 'packages/Q/a': 'Q1\n' }, 'v1');
      const v2 = repo.commit(
        { 'packages/P/a': 'P2\n', 'packages/P/b': 'P2b\n', 'packages/Q/a': 'Q2\n' },
        'v2',
      );
      expect((await deploy({ config, repo: repo.dir, to: v1 })).status).toBe('succeeded');
      expect((await deploy({ config, repo: repo.dir, to: v2 })).status).toBe('succeeded');
      const l = layout('.diffship');
      // What rollbackUnitFiles writes before its first file moves; then the run "dies".
      const s = await TargetSession.open({
        transport: new LocalTransport(target),
        stateDir: '.diffship',
        command: 'deploy',
      });
      const backup = (await readBackup(s.transport, l, s.state!.deployId))!;
      await writeJournal(s.transport, l, {
        version: 1,
        kind: 'unit-rollback',
        phase: 'commit',
        deployId: s.deployId,
        backupId: backup.deployId,
        newState: storedState(
          heldBackState(s.state!, backup.previousState as TargetState | null, [
            { name: 'P', path: 'packages/P' },
          ]),
        ),
        paths: ['packages/P'],
      });
      await s.close();
      const next = await TargetSession.open({
        transport: new LocalTransport(target),
        stateDir: '.diffship',
        command: 'deploy',
      });
      expect(next.recovered).toBe('finished interrupted rollback of unit(s) packages/P');
      const recorded = await readState(next.transport, l);
      await next.close();
      expect(readFileSync(path.join(target, 'packages/P/a'), 'utf8')).toBe('P1\n');
      expect(existsSync(path.join(target, 'packages/P/b'))).toBe(false);
      expect(readFileSync(path.join(target, 'packages/Q/a'), 'utf8')).toBe('Q2\n');
      expect(recorded!.release).toBe(v2);
      expect(recorded!.heldBack).toEqual([{ name: 'P', path: 'packages/P', release: v1 }]);
      expect(existsSync(path.join(target, '.diffship/backups', backup.deployId, 'manifest.json'))).toBe(true);
      expect(existsSync(path.join(target, '.diffship/journal.json'))).toBe(false);
    } finally {
      repo.cleanup();
      rmSync(root, { recursive: true, force: true });
    }
  }, 60_000);
});

describe('a swap marker read back from the target', () => {
  it('is ignored when its live path leaves the target or points into the state folder', async () => {
    const { mkdirSync, writeFileSync, existsSync, realpathSync, rmSync } = await import('node:fs');
    const path = await import('node:path');
    const { tempDir } = await import('../helpers/git.js');
    const { LocalTransport } = await import('../../src/transport/local/local-transport.js');
    const { layout } = await import('../../src/apply/layout.js');
    const { finishSwaps } = await import('../../src/apply/unit-reveal.js');
    const root = realpathSync(tempDir('diffship-swap-marker-'));
    try {
      const target = path.join(root, 't');
      const staging = path.join(target, '.diffship/staging/d1');
      mkdirSync(path.join(staging, 'old-0'), { recursive: true });
      mkdirSync(path.join(staging, 'old-1'), { recursive: true });
      mkdirSync(path.join(staging, 'old-2'), { recursive: true });
      const marker = (k: number, live: string) =>
        writeFileSync(
          path.join(staging, `swap-${k}.json`),
          JSON.stringify({ live, old: `.diffship/staging/d1/old-${k}` }),
        );
      marker(0, '../outside');
      marker(1, '.diffship/backups');
      marker(2, 'packages/P');
      mkdirSync(path.join(target, 'packages'));
      const t = new LocalTransport(target);
      await t.connect();
      await finishSwaps(t, layout('.diffship'));
      expect(existsSync(path.join(root, 'outside'))).toBe(false);
      expect(existsSync(path.join(target, '.diffship/backups'))).toBe(false);
      // The one safe marker puts its old folder back.
      expect(existsSync(path.join(target, 'packages/P'))).toBe(true);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
