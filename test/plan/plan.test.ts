import { describe, expect, it } from 'vitest';
import { countPathsToObserve, planTarget, pathsToObserve, type PlanInput } from '../../src/plan/plan.js';
import { holds } from '../../src/plan/context.js';
import type { Change, DiffResult } from '../../src/diff/types.js';
import type { Observed } from '../../src/plan/types.js';
import { diffWith } from '../../src/diff/diff-releases.js';
import { makeRepo } from '../helpers/repo.js';
import { plainChanges } from '../../src/plan/path-view.js';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const C = 'c'.repeat(40);
const X = 'e'.repeat(40);

function diff(changes: Change[], from: string | null = '1'.repeat(40)): DiffResult {
  return {
    from,
    to: '2'.repeat(40),
    source: '.',
    changes,
    counts: { added: 0, updated: 0, deleted: 0, renamed: 0 },
  };
}
const file = (blob: string | null, mode = 0o644): Observed => ({
  type: blob === null ? null : 'file',
  blob,
  mode,
});

function input(d: DiffResult, over: Partial<PlanInput> = {}): PlanInput {
  return {
    diff: d,
    mode: 'additive',
    protect: [],
    onDrift: 'fail',
    stateDir: '.diffship',
    kept: [],
    observed: new Map(),
    ...over,
  };
}

describe('planTarget', () => {
  const changes: Change[] = [
    { status: 'added', path: 'new.json', mode: '100644', blob: A },
    { status: 'updated', path: 'up.json', mode: '100644', blob: B, oldMode: '100644', oldBlob: A },
    { status: 'deleted', path: 'gone.json', oldMode: '100644', oldBlob: C },
    {
      status: 'renamed',
      path: 'r2.json',
      oldPath: 'r1.json',
      similarity: 97,
      mode: '100644',
      blob: C,
      oldMode: '100644',
      oldBlob: A,
    },
  ];
  const observed = new Map([
    ['up.json', file(A)],
    ['gone.json', file(C)],
    ['r1.json', file(A)],
  ]);

  it("a first deploy's writes are the diff's own array, not a copy of its 500,000 entries; any other plan's are its own", () => {
    const first = diff(
      [
        { status: 'added', path: 'a.json', mode: '100644', blob: A },
        { status: 'added', path: 'b.json', mode: '100755', blob: B },
      ],
      null,
    );
    const plan = planTarget(input(first));
    expect(plan.writes).toBe(first.changes);
    // One file already in place: fewer writes than changes, so an array of their own.
    const placed = planTarget(input(first, { observed: new Map([['a.json', file(A)]]) }));
    expect(placed.writes).toEqual([first.changes[1]]);
    expect(placed.writes).not.toBe(first.changes);
    // Authoritative repairs add writes after the diff's: never pushed onto the diff's array.
    const release = new Map([
      ['a.json', { mode: '100644' as const, blob: A }],
      ['b.json', { mode: '100755' as const, blob: B }],
      ['c.json', { mode: '100644' as const, blob: C }],
    ]);
    const auth = planTarget(input(first, { mode: 'authoritative', release }));
    expect(auth.writes.map((w) => w.path)).toEqual(['a.json', 'b.json', 'c.json']);
    expect(first.changes).toHaveLength(2);
  });

  it('additive writes added, updated and renamed files and keeps deletions', () => {
    const plan = planTarget(input(diff(changes), { observed }));
    expect(plan.writes.map((w) => w.path)).toEqual(['new.json', 'up.json', 'r2.json']);
    expect(plan.deletes).toEqual([]);
    expect(plan.changes.kept).toEqual(['gone.json', 'r1.json']);
    expect(plan.kept).toEqual([
      { path: 'gone.json', blob: C },
      { path: 'r1.json', blob: A },
    ]);
    expect(plan.blocked).toBeNull();
  });

  it('authoritative deletes what the release removed and strays, but not protected or state files', () => {
    const release = new Map([
      ['new.json', { mode: '100644', blob: A }],
      ['up.json', { mode: '100644', blob: B }],
      ['r2.json', { mode: '100644', blob: C }],
    ]);
    const obs = new Map(observed);
    obs.set('stray.txt', file(X));
    obs.set('local/keep.txt', file(X));
    const plan = planTarget(
      input(diff(changes), { observed: obs, release, mode: 'authoritative', protect: ['local/**'] }),
    );
    expect(plan.deletes.map((d) => [d.path, d.reason])).toEqual([
      ['gone.json', 'deleted'],
      ['r1.json', 'renamed'],
      ['stray.txt', 'stray'],
    ]);
    expect(plan.kept).toEqual([]);
    expect(plan.changes.deleted).toEqual(['gone.json', 'stray.txt']);
  });

  it('reports drift and blocks with on-drift: fail', () => {
    const obs = new Map(observed);
    obs.set('up.json', file(X));
    const plan = planTarget(input(diff(changes), { observed: obs }));
    expect(plan.drift).toEqual([{ path: 'up.json', expected: A, actual: X }]);
    expect(plan.blocked?.code).toBe('E_DRIFT');
    expect(plan.blocked?.message).toContain('up.json');
    expect(plan.blocked?.message).toContain('on-drift: overwrite');
  });

  it('on-drift: skip leaves drifted files alone; overwrite replaces them', () => {
    const obs = new Map(observed);
    obs.set('up.json', file(X));
    const skip = planTarget(input(diff(changes), { observed: obs, onDrift: 'skip' }));
    expect(skip.writes.map((w) => w.path)).toEqual(['new.json', 'r2.json']);
    expect(skip.blocked).toBeNull();
    const over = planTarget(input(diff(changes), { observed: obs, onDrift: 'overwrite' }));
    expect(over.writes.map((w) => w.path)).toContain('up.json');
    expect(over.changes.drift).toEqual(['up.json']);
  });

  it('a file in the way of an added path is drift once a release is recorded, not before', () => {
    const obs = new Map([['new.json', file(X)]]);
    const d = [changes[0] as Change];
    expect(planTarget(input(diff(d), { observed: obs })).blocked?.code).toBe('E_DRIFT');
    expect(planTarget(input(diff(d, null), { observed: obs })).blocked).toBeNull();
  });

  it('a kept file re-added is not drift', () => {
    const obs = new Map([['new.json', file(X)]]);
    const plan = planTarget(
      input(diff([changes[0] as Change]), { observed: obs, kept: [{ path: 'new.json', blob: X }] }),
    );
    expect(plan.blocked).toBeNull();
    expect(plan.kept).toEqual([]);
  });

  it('skips writes the target already holds (a rerun converges without work)', () => {
    const obs = new Map([['new.json', file(A)]]);
    expect(planTarget(input(diff([changes[0] as Change]), { observed: obs })).writes).toEqual([]);
  });

  it('a mode-only change is a write', () => {
    const c: Change = {
      status: 'updated',
      path: 'run.sh',
      mode: '100755',
      blob: A,
      oldMode: '100644',
      oldBlob: A,
    };
    const plan = planTarget(input(diff([c]), { observed: new Map([['run.sh', file(A, 0o644)]]) }));
    expect(plan.writes.map((w) => w.path)).toEqual(['run.sh']);
    expect(holds(file(A, 0o755), A, '100755')).toBe(true);
  });

  it('max-deletes stops a deploy that would delete more', () => {
    const release = new Map<string, { mode: string; blob: string }>();
    const obs = new Map([
      ['a', file(A)],
      ['b', file(A)],
    ]);
    const plan = planTarget(
      input(diff([]), { observed: obs, release, mode: 'authoritative', maxDeletes: 1 }),
    );
    expect(plan.blocked?.code).toBe('E_MAX_DELETES');
    expect(plan.blocked?.message).toContain('2 file(s)');
  });

  it("lists the added paths in the diff's order, whatever comes between them", () => {
    const add = (path: string, mode = '100644'): Change => ({ status: 'added', path, mode, blob: A });
    const up: Change = {
      status: 'updated',
      path: 'm',
      mode: '100644',
      blob: B,
      oldMode: '100644',
      oldBlob: A,
    };
    const cases: Array<[Change[], string[]]> = [
      [
        [add('a'), add('b'), add('c')],
        ['a', 'b', 'c'],
      ],
      [
        [add('a'), up, add('n'), add('z')],
        ['a', 'n', 'z'],
      ],
      [
        [add('a'), add('b'), up],
        ['a', 'b'],
      ],
      [[up, add('n')], ['n']],
      [
        [add('a'), add('lib', '160000'), add('z')],
        ['a', 'z'],
      ],
      [[add('lib', '160000'), add('z')], ['z']],
      [[up], []],
    ];
    for (const [changes, added] of cases) {
      const plan = planTarget(input(diff(changes)));
      expect(plan.changes.added).toEqual(added);
      expect(plainChanges(plan.changes)).toBe(plan.changes); // a plain array, not a view: no listing here
    }
  });

  it("gives a listing's added paths as a view over its files, in order", async () => {
    const repo = makeRepo();
    try {
      const to = repo.commit({ 'a.txt': 'a\n', 'dir/b.txt': 'b\n', 'dir/é.txt': 'é\n', 'lib/x': 'x\n' });
      const listing = await diffWith(null, { repo: repo.dir, from: null, to });
      const plan = planTarget(input(listing));
      expect(plan.changes.added).toEqual(['a.txt', 'dir/b.txt', 'dir/é.txt', 'lib/x']);
      expect(JSON.stringify(plan.changes.added)).toBe('["a.txt","dir/b.txt","dir/é.txt","lib/x"]');
      // A view, not an array of the strings; written to, it becomes one.
      expect(plainChanges(plan.changes)).not.toBe(plan.changes);
      expect(plan.changes.added.sort().reverse()).toEqual(['lib/x', 'dir/é.txt', 'dir/b.txt', 'a.txt']);
    } finally {
      repo.cleanup();
    }
  });

  it('never ships submodules and refuses release paths inside the state folder', () => {
    const sub: Change = { status: 'added', path: 'lib', mode: '160000', blob: A };
    const plan = planTarget(input(diff([sub])));
    expect(plan.writes).toEqual([]);
    expect(plan.submodules).toEqual(['lib']);
    const bad: Change = { status: 'added', path: '.diffship/state.json', mode: '100644', blob: A };
    expect(() => planTarget(input(diff([bad])))).toThrow(/state folder/);
  });

  it('a folder where the release has a file: refused in every mode, named; not a submodule or protected path', () => {
    const dir: Observed = { type: 'dir', blob: null, mode: 0 };
    const release = new Map([
      ['a/b.txt', { mode: '100644', blob: A }],
      ['lib', { mode: '160000', blob: B }],
      ['keep/x', { mode: '100644', blob: C }],
    ]);
    const obs = new Map([
      ['a/b.txt', dir],
      ['lib', dir],
      ['keep/x', dir],
    ]);
    const refused = /1 folder\(s\) on the target where the release has a file: a\/b\.txt — move or remove/;
    // Authoritative, the file unchanged by the diff (it used to be skipped: success, file missing).
    const auth = input(diff([]), { observed: obs, release, mode: 'authoritative', protect: ['keep/**'] });
    expect(() => planTarget(auth)).toThrow(refused);
    expect(() => planTarget({ ...auth, onDrift: 'overwrite' })).toThrow(refused);
    // on-drift: skip leaves the drifted path as it is (reported as drift), so nothing is written there.
    expect(planTarget({ ...auth, onDrift: 'skip' }).changes.drift).toEqual(['a/b.txt']);
    // Any mode, the file in the diff (first deploy: no record).
    const added: Change = { status: 'added', path: 'a/b.txt', mode: '100644', blob: A };
    for (const mode of ['additive', 'authoritative'] as const)
      expect(() =>
        planTarget(input(diff([added], null), { observed: obs, release, mode, protect: ['keep/**'] })),
      ).toThrow(refused);
    // The folder's own files are strays only once it is gone: nothing else is refused.
    obs.delete('a/b.txt');
    expect(planTarget({ ...auth, observed: obs }).writes.map((w) => w.path)).toEqual(['a/b.txt']);
  });

  it('a release turning a folder into a file (or back): the old side is deleted in both modes, not kept, not drift', () => {
    const dir: Observed = { type: 'dir', blob: null, mode: 0 };
    const toFile: Change[] = [
      { status: 'deleted', path: 'x/y', oldMode: '100644', oldBlob: B },
      { status: 'added', path: 'x', mode: '100644', blob: A },
    ];
    const obs = new Map<string, Observed>([
      ['x', dir],
      ['x/y', file(B)],
    ]);
    const release = new Map([['x', { mode: '100644' as const, blob: A }]]);
    for (const mode of ['additive', 'authoritative'] as const) {
      const plan = planTarget(input(diff(toFile), { observed: obs, mode, release }));
      expect(plan.writes.map((w) => w.path)).toEqual(['x']);
      expect(plan.deletes).toEqual([{ path: 'x/y', reason: 'deleted' }]);
      expect(plan.kept).toEqual([]);
      expect(plan.drift).toEqual([]);
    }
    // Anything else in the folder, in additive mode (a file put there by hand), or drifted and
    // left by on-drift: skip: the refusal stays.
    const refused = /1 folder\(s\) on the target where the release has a file: x — move or remove/;
    // The release empties the folder, but a file stays: named, with why it stays.
    const holds = (name: string, why: string) =>
      `x is a folder on the target where the release now has a file: the release empties it, but it also holds 1 file(s) this deploy does not delete: ${name} (${why}) — move or remove them on the target, then deploy again`;
    const hand = new Map([...obs, ['x/hand.txt', file(C)]]);
    expect(() => planTarget(input(diff(toFile), { observed: hand }))).toThrow(
      holds('x/hand.txt', 'not shipped by diffship'),
    );
    // A file an earlier additive deploy kept after its release deleted it.
    const kept = new Map([...obs, ['x/old.txt', file(C)]]);
    expect(() =>
      planTarget(input(diff(toFile), { observed: kept, kept: [{ path: 'x/old.txt', blob: C }] })),
    ).toThrow(holds('x/old.txt', 'kept by an earlier additive deploy after its release deleted it'));
    // A drifted x/y left by on-drift: skip: the release no longer empties the folder.
    const drifted = new Map([...obs, ['x/y', file(C)]]);
    expect(() => planTarget(input(diff(toFile), { observed: drifted, onDrift: 'skip' }))).toThrow(refused);
    // Authoritative mode deletes a stray there anyway; a protected one stays, and so does the folder.
    const auth = { observed: hand, mode: 'authoritative' as const, release };
    expect(planTarget(input(diff(toFile), auth)).deletes.map((d) => d.path)).toEqual(['x/hand.txt', 'x/y']);
    expect(() => planTarget(input(diff(toFile), { ...auth, protect: ['x/hand.txt'] }))).toThrow(
      holds('x/hand.txt', 'protected'),
    );
    // File → folder: additive mode deletes the old file instead of keeping it.
    const toDir: Change[] = [
      { status: 'deleted', path: 'x', oldMode: '100644', oldBlob: A },
      { status: 'added', path: 'x/y', mode: '100644', blob: B },
    ];
    const plan = planTarget(input(diff(toDir), { observed: new Map([['x', file(A)]]) }));
    expect(plan.deletes).toEqual([{ path: 'x', reason: 'deleted' }]);
    expect(plan.kept).toEqual([]);
  });

  it('protect globs are never written', () => {
    const plan = planTarget(input(diff([changes[0] as Change]), { protect: ['*.json'] }));
    expect(plan.writes).toEqual([]);
    expect(plan.protected).toEqual(['new.json']);
  });

  it('observes new paths and old paths', () => {
    expect(pathsToObserve(diff(changes))).toEqual(['new.json', 'up.json', 'gone.json', 'r2.json', 'r1.json']);
    expect(countPathsToObserve(diff(changes))).toBe(5);
    // A submodule is not observed (nothing to look into), but its old path is when it moves away.
    const gitlink = { status: 'renamed', path: 'sub2', oldPath: 'sub', mode: '160000' } as unknown as Change;
    expect(pathsToObserve(diff([gitlink]))).toEqual(['sub']);
    expect(countPathsToObserve(diff([gitlink]))).toBe(1);
  });
});

describe('drift-scope', () => {
  const changes: Change[] = [
    { status: 'updated', path: 'a.json', mode: '100644', blob: B, oldMode: '100644', oldBlob: A },
  ];
  // The recorded release: a.json (in the change set), b.json and c.json (outside it), one kept file.
  const recordedFiles = new Map([
    ['a.json', { blob: A, mode: '100644' as const }],
    ['b.json', { blob: C, mode: '100644' as const }],
    ['c.json', { blob: C, mode: '100755' as const }],
    ['old.json', { blob: X, mode: null }],
  ]);
  const observed = new Map([
    ['a.json', file(A)],
    ['b.json', file(X)], // edited by hand
    // c.json deleted by hand
    ['old.json', file(A)], // kept file edited by hand
  ]);

  it('changes (default): only the change set is checked, and the plan says how many files', () => {
    const p = planTarget(input(diff(changes), { observed, recordedFiles }));
    expect(p.drift).toEqual([]);
    expect(p.blocked).toBeNull();
    expect(p.driftChecked).toEqual({ scope: 'changes', files: 1 });
  });

  it('all + fail: every recorded file is checked, and drift outside the change set blocks', () => {
    const p = planTarget(input(diff(changes), { observed, recordedFiles, driftScope: 'all' }));
    expect(p.drift.map((d) => d.path)).toEqual(['b.json', 'c.json', 'old.json']);
    expect(p.blocked?.code).toBe('E_DRIFT');
    expect(p.driftChecked).toEqual({ scope: 'all', files: 4 });
  });

  it('all + overwrite: release files are restored (kept files only reported); skip leaves them', () => {
    const over = planTarget(
      input(diff(changes), { observed, recordedFiles, driftScope: 'all', onDrift: 'overwrite' }),
    );
    expect(over.blocked).toBeNull();
    expect(over.writes.map((w) => [w.path, w.blob, w.mode])).toEqual([
      ['a.json', B, '100644'],
      ['b.json', C, '100644'],
      ['c.json', C, '100755'],
    ]);
    const skip = planTarget(
      input(diff(changes), { observed, recordedFiles, driftScope: 'all', onDrift: 'skip' }),
    );
    expect(skip.writes.map((w) => w.path)).toEqual(['a.json']);
  });

  it('no recorded release: drift is not checked', () => {
    const p = planTarget(input(diff(changes, null), { observed, recordedFiles, driftScope: 'all' }));
    expect(p.drift).toEqual([]);
    expect(p.driftChecked).toBeUndefined();
  });
});
