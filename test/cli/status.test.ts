/**
 * `diffship status` through the real CLI: per target the release it holds, when
 * it was deployed, drift after a hand edit, the lock, backups; `--json`.
 */
import { mkdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TargetStatusInfo } from '../../src/apply/inspect.js';
import { cli } from '../helpers/cli.js';
import { makeRepo } from '../helpers/repo.js';
import { git, tempDir } from '../helpers/git.js';

let repo: ReturnType<typeof makeRepo>;
let v1: string;
let v2: string;
let ws: string;
let deployedAfter: number;

const status = (...args: string[]) => cli(ws, ['status', '--repo', repo.dir, ...args]);
const statusJson = (...args: string[]) => {
  const r = status(...args, '--json');
  return { r, targets: (JSON.parse(r.stdout) as { targets: TargetStatusInfo[] }).targets };
};

beforeAll(() => {
  repo = makeRepo();
  v1 = repo.commit({ 'wf/a.json': 'a1\n', 'wf/b.json': 'b1\n', 'wf/gone.json': 'g\n' });
  git(repo.dir, 'tag', 'v1');
  v2 = repo.commit({ 'wf/a.json': 'a2\n', 'wf/b.json': 'b1\n', 'wf/sub/c.json': 'c2\n' });
  git(repo.dir, 'tag', 'v2');
  ws = tempDir('diffship-status-');
  writeFileSync(
    join(ws, 'diffship.yml'),
    [
      'source: wf',
      'targets:',
      '  - { name: web, type: local, path: t/web, labels: [eu] }',
      '  - { name: db, type: local, path: t/db }',
      '  - { name: empty, type: local, path: t/empty, labels: [eu] }',
      '  - { name: missing, type: local, path: t/missing }',
      '',
    ].join('\n'),
  );
  mkdirSync(join(ws, 't/empty'), { recursive: true });
  deployedAfter = Date.now();
  for (const ref of ['v1', 'v2']) {
    const r = cli(ws, ['deploy', '--repo', repo.dir, '--to', ref, '--targets', 'web,db', '--no-progress']);
    if (r.code !== 0) throw new Error(`deploy ${ref} failed: ${r.stdout}${r.stderr}`);
  }
});
afterAll(() => {
  repo.cleanup();
  rmSync(ws, { recursive: true, force: true });
});

describe('diffship status', () => {
  it('--json: release, previous release, deploy time, mode, kept files, backups; none recorded for new targets', () => {
    const { r, targets } = statusJson();
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(targets.map((t) => t.name)).toEqual(['web', 'db', 'empty', 'missing']);
    const web = targets[0]!;
    expect(web).toMatchObject({
      name: 'web',
      release: v2,
      previousRelease: v1,
      mode: 'additive',
      drift: [],
      driftChecked: true,
      note: null,
      kept: 1, // gone.json: deleted by v2, left in place by additive mode
      lock: null,
      interrupted: false,
      error: null,
    });
    expect(Date.parse(web.deployedAt!)).toBeGreaterThanOrEqual(deployedAfter);
    expect(Date.parse(web.deployedAt!)).toBeLessThanOrEqual(Date.now());
    expect(web.backups).toHaveLength(2);
    expect(web.deployId).toBe(web.backups[0]);
    expect(Object.keys(web).sort()).toEqual(
      [
        'name',
        'release',
        'previousRelease',
        'deployedAt',
        'deployId',
        'mode',
        'drift',
        'driftChecked',
        'note',
        'driftScope',
        'kept',
        'lock',
        'lockUnreadable',
        'backups',
        'usage',
        'interrupted',
        'recovery',
        'error',
      ].sort(),
    );
    // A folder with nothing deployed, and one not created yet: no release, not an error.
    for (const t of targets.slice(2)) {
      expect(t).toMatchObject({
        release: null,
        deployedAt: null,
        drift: [],
        lock: null,
        backups: [],
        error: null,
      });
    }
  });

  it('reports drift after a hand edit or a deleted file, and still exits 0', () => {
    writeFileSync(join(ws, 't/db/a.json'), 'edited by hand\n');
    unlinkSync(join(ws, 't/db/sub/c.json'));
    try {
      const { r, targets } = statusJson('--targets', 'db');
      expect(r.code).toBe(0);
      expect(targets).toHaveLength(1);
      expect(targets[0]).toMatchObject({ name: 'db', release: v2, drift: ['a.json', 'sub/c.json'] });

      const human = status('--targets', 'db');
      expect(human.code).toBe(0);
      expect(human.stdout).toContain('drift:    2 file(s): a.json, sub/c.json');
    } finally {
      writeFileSync(join(ws, 't/db/a.json'), 'a2\n');
      writeFileSync(join(ws, 't/db/sub/c.json'), 'c2\n');
    }
    expect(statusJson('--targets', 'db').targets[0]!.drift).toEqual([]);
  });

  it('a folder where the release has a file is named as such, not as a file drift can fix', () => {
    // A hand edit turned b.json into a folder; a.json is edited as a plain file beside it.
    unlinkSync(join(ws, 't/db/b.json'));
    mkdirSync(join(ws, 't/db/b.json/inner'), { recursive: true });
    writeFileSync(join(ws, 't/db/b.json/inner/x'), 'x\n');
    writeFileSync(join(ws, 't/db/a.json'), 'edited by hand\n');
    try {
      const { r, targets } = statusJson('--targets', 'db');
      expect(r.code).toBe(0);
      expect(targets[0]).toMatchObject({ drift: ['a.json', 'b.json'], driftFolders: ['b.json'] });
      const human = status('--targets', 'db');
      expect(human.code).toBe(0);
      expect(human.stdout).toContain('drift:    1 file(s): a.json\n');
      expect(human.stdout).toContain(
        '            1 folder(s) where the release has a file: b.json\n            diffship never replaces a folder with a file: a plan or deploy that writes one of these files stops (E_UNSAFE) — move or remove the folder on the target\n',
      );
    } finally {
      rmSync(join(ws, 't/db/b.json'), { recursive: true });
      writeFileSync(join(ws, 't/db/b.json'), 'b1\n');
      writeFileSync(join(ws, 't/db/a.json'), 'a2\n');
    }
    const after = statusJson('--targets', 'db').targets[0]!;
    expect(after.drift).toEqual([]);
    expect(after.driftFolders).toBeUndefined();
  });

  it('shows who holds a lock, and that it is stale when its process is gone', () => {
    const lock = {
      deployId: '20260101T000000000Z-abcdef',
      command: 'deploy',
      user: 'alice',
      host: hostname(),
      pid: 2 ** 22 + 17, // above Linux's pid_max: no such process
      since: '2026-01-01T00:00:00.000Z',
      leaseUntil: new Date(Date.now() + 60_000).toISOString(),
    };
    writeFileSync(join(ws, 't/web/.diffship/lock.json'), JSON.stringify(lock));
    try {
      const { targets } = statusJson('--targets', 'web');
      expect(targets[0]!.lock).toEqual({
        ...lock,
        stale: `its process ${lock.pid} on ${hostname()} is gone`,
      });
      const human = status('--targets', 'web');
      expect(human.stdout).toContain(
        `  lock:     alice@${hostname()} (pid ${lock.pid}, deploy ${lock.deployId}) since ${lock.since} — stale: its process ${lock.pid} on ${hostname()} is gone`,
      );
    } finally {
      unlinkSync(join(ws, 't/web/.diffship/lock.json'));
    }
  });

  it('prints a block per target without colour when piped; label:x selects', () => {
    const r = status('--targets', 'label:eu');
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain('\u001b[');
    const web = r.stdout.split('\n').slice(0, 5);
    expect(web[0]).toBe('web');
    expect(web[1]).toMatch(
      new RegExp(`^ {2}release: {2}${v2} {2}\\(deployed \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z, additive\\)$`),
    );
    expect(web.slice(2)).toEqual([`  previous: ${v1}`, '  drift:    none', '  lock:     free']);
    expect(r.stdout).toContain('\nempty\n  release:  none recorded\n');
    expect(r.stdout).not.toContain('\ndb\n');
  });

  it('an unknown target is bad usage (exit 2)', () => {
    const r = status('--targets', 'wbe');
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      'diffship: --targets wbe: no such target — did you mean "web"? (targets: web, db, empty, missing; use label:X for labels)\n',
    );
  });
});
