/**
 * The deploy engine's scenarios (SPEC §3), written once and run against every
 * transport (local.conformance.test.ts, ssh.conformance.test.ts): modes, drift,
 * rollback byte for byte, the lock, a symlinked folder, hostile names, a
 * missing target folder, and crash recovery after SIGKILL of a real CLI
 * deploy. Each target folder is reachable on this machine (the test sshd runs
 * on 127.0.0.1 as this user), so tests set it up and inspect it with node:fs.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  truncateSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { TargetSession } from '../../src/apply/session.js';
import type { PlanOptions } from '../../src/observe/plan-target.js';
import type { TargetState } from '../../src/apply/state.js';
import { TransportError, type DiffshipError } from '../../src/errors.js';
import type { Logger } from '../../src/log.js';
import type { Transport } from '../../src/transport/transport.js';
import { cli, cliStart } from '../helpers/cli.js';
import { expectOldOrNew, untilCommit } from '../helpers/crash.js';
import { makeRepo, snapshot, type SnapEntry, type Tree } from '../helpers/repo.js';
import { tempDir } from '../helpers/git.js';

interface EngineTarget {
  /** A new, unconnected transport to the target folder. */
  transport(): Transport;
  /** The target folder as this machine sees it (to set up and inspect). */
  path: string;
  /**
   * The target's keys for diffship.yml, one `key: value` line each, without
   * `name` (e.g. `type: local` and `path: /tmp/x`).
   */
  targetConfig(): string;
}

/** A target for the folder `path`, which does not exist yet (the first deploy creates it). */
export type MakeEngineTarget = (path: string) => EngineTarget | Promise<EngineTarget>;

export interface EngineSuiteOptions {
  /** Names the transport can carry (default: all of HOSTILE). */
  hostileNames?: readonly string[];
  /** Kill rounds of the crash test (default 3; more when no kill lands mid-commit). */
  crashRounds?: number;
}

/** Path segments that break naive quoting, parsing or option handling. */
export const HOSTILE = [
  'with space.json',
  'ünïcødé ✓ 日本.json',
  'new\nline.json',
  '-leading-dash',
  'it\'s "quoted".json',
  '$(touch pwned) `x` ;rm -rf.json',
  'back\\slash',
  '*glob?[x]',
  '  ',
] as const;

/** Every entry below `root` (skipping `skip` folders): exact bytes, full mode bits, link text. */
export function exactTree(root: string, skip: readonly string[] = ['.diffship']): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string) => {
    for (const name of readdirSync(join(root, rel)).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      if (skip.includes(r)) continue;
      const st = lstatSync(join(root, r));
      if (st.isSymbolicLink()) out[r] = `link -> ${readlinkSync(join(root, r))}`;
      else if (st.isDirectory()) {
        out[r] = 'dir';
        walk(r);
      } else
        out[r] = `file ${(st.mode & 0o7777).toString(8)} ${readFileSync(join(root, r)).toString('base64')}`;
    }
  };
  walk('');
  return out;
}

const readState = (root: string): TargetState | null =>
  existsSync(join(root, '.diffship/state.json'))
    ? (JSON.parse(readFileSync(join(root, '.diffship/state.json'), 'utf8')) as TargetState)
    : null;

async function rejection(promise: Promise<unknown>): Promise<DiffshipError> {
  return (await promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e,
  )) as DiffshipError;
}

function recordingLog(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  return { warnings, debug() {}, info() {}, error() {}, warn: (m) => warnings.push(m) };
}

const V1: Tree = {
  'a.json': '{"v":1}',
  'b.json': 'bee',
  'run.sh': { content: '#!/bin/sh\necho 1\n', mode: 0o644 },
  'link.json': { link: 'a.json' },
  'dir/deep/c.json': 'cee',
  'old/x.json': 'renamed content that is long enough to be detected as a rename\n'.repeat(4),
  'bin.dat': { content: '\u0000\u00ff\r\n\u0001binary' },
};
const V2: Tree = {
  'a.json': '{"v":2}',
  'run.sh': { content: '#!/bin/sh\necho 1\n', mode: 0o755 },
  'link.json': { link: 'b2.json' },
  'b2.json': 'new file',
  'new/x.json': 'renamed content that is long enough to be detected as a rename\n'.repeat(4),
  'bin.dat': { content: '\u0000\u00ff\r\n\u0002binary' },
};

export function describeEngine(
  name: string,
  makeTarget: MakeEngineTarget,
  options: EngineSuiteOptions = {},
): void {
  describe(`deploy engine conformance: ${name}`, () => {
    let base: string;
    let counter = 0;
    const repos: Array<ReturnType<typeof makeRepo>> = [];
    const open: TargetSession[] = [];

    beforeAll(() => {
      base = tempDir(`diffship-engine-${name}-`);
    });
    afterEach(async () => {
      await Promise.all(open.splice(0).map((s) => s.close().catch(() => undefined)));
      for (const r of repos.splice(0)) r.cleanup();
    });
    afterAll(() => {
      rmSync(base, { recursive: true, force: true });
    });

    const repo = () => {
      const r = makeRepo();
      repos.push(r);
      return r;
    };
    const target = () => makeTarget(join(base, `target-${counter++}`));

    async function session(t: EngineTarget, command = 'deploy', log?: Logger, readOnly = false) {
      const s = await TargetSession.open({
        transport: t.transport(),
        stateDir: '.diffship',
        command,
        log,
        readOnly,
      });
      open.push(s);
      return s;
    }

    async function deploy(
      t: EngineTarget,
      repoDir: string,
      to: string,
      over: Partial<PlanOptions> = {},
      log?: Logger,
    ) {
      const s = await session(t, 'deploy', log);
      try {
        const plan = await s.plan({ repo: repoDir, to, mode: 'additive', onDrift: 'fail', ...over });
        const result = await s.apply(plan, repoDir);
        return { plan, result };
      } finally {
        await s.close();
      }
    }

    async function rollback(t: EngineTarget) {
      const s = await session(t, 'rollback');
      try {
        return await s.rollback();
      } finally {
        await s.close();
      }
    }

    it('a first deploy creates the folder and writes the whole release (modes, links, bytes), leaving only state and backup', async () => {
      const r = repo();
      const v1 = r.commit(V1);
      const t = await target();
      const { result } = await deploy(t, r.dir, v1);
      expect(result.changed).toBe(true);
      expect(exactTree(t.path)).toEqual(exactTree(r.dir, ['.git']));
      expect(readState(t.path)).toMatchObject({ release: v1, previousRelease: null, mode: 'additive' });
      expect(readdirSync(join(t.path, '.diffship')).sort()).toEqual(['backups', 'manifests', 'state.json']);
      // Only the manifest the state names.
      const ref = (readState(t.path) as { manifestFile: { file: string } }).manifestFile;
      expect(readdirSync(join(t.path, '.diffship/manifests'))).toEqual([ref.file]);
    });

    it('additive keeps files the release deleted or renamed away; a rerun writes nothing', async () => {
      const r = repo();
      const v1 = r.commit(V1);
      const v2 = r.commit(V2);
      const t = await target();
      await deploy(t, r.dir, v1);
      const { plan } = await deploy(t, r.dir, v2);
      expect(plan.changes.kept.sort()).toEqual(['b.json', 'dir/deep/c.json', 'old/x.json']);
      expect(plan.changes.renamed).toEqual([{ from: 'old/x.json', to: 'new/x.json' }]);
      const expected = exactTree(r.dir, ['.git']);
      const now = exactTree(t.path);
      for (const [p, v] of Object.entries(expected)) expect(now[p], p).toBe(v);
      expect(snapshot(t.path)['b.json']).toEqual({ type: 'file', content: 'bee', exec: false });
      expect(snapshot(t.path)['old/x.json']?.type).toBe('file');
      expect(snapshot(t.path)['dir/deep/c.json']?.content).toBe('cee');
      expect(
        readState(t.path)
          ?.kept.map((k) => k.path)
          .sort(),
      ).toEqual(['b.json', 'dir/deep/c.json', 'old/x.json']);

      const again = await deploy(t, r.dir, v2);
      expect(again.result.changed).toBe(false);
      expect(again.plan.writes).toEqual([]);
    });

    it('authoritative deletes deleted, renamed-away and stray files, but not protect globs or the state folder', async () => {
      const r = repo();
      const v1 = r.commit(V1);
      const v2 = r.commit(V2);
      const t = await target();
      await deploy(t, r.dir, v1);
      mkdirSync(join(t.path, 'local/deeper'), { recursive: true });
      writeFileSync(join(t.path, 'local/deeper/mine.txt'), 'mine');
      writeFileSync(join(t.path, 'stray.txt'), 'stray');
      mkdirSync(join(t.path, 'stray-dir/sub'), { recursive: true });
      writeFileSync(join(t.path, 'stray-dir/sub/s.txt'), 's');
      writeFileSync(join(t.path, '.diffship/keep-me'), 'state folder content');
      const { plan } = await deploy(t, r.dir, v2, { mode: 'authoritative', protect: ['local/**'] });
      expect(plan.deletes.map((d) => d.path).sort()).toEqual(
        expect.arrayContaining([
          'b.json',
          'dir/deep/c.json',
          'old/x.json',
          'stray.txt',
          'stray-dir/sub/s.txt',
        ]),
      );
      const want = exactTree(r.dir, ['.git']);
      want['local'] = 'dir';
      want['local/deeper'] = 'dir';
      want['local/deeper/mine.txt'] = `file 644 ${Buffer.from('mine').toString('base64')}`;
      const got = exactTree(t.path);
      expect(got).toEqual(want);
      expect(readFileSync(join(t.path, '.diffship/keep-me'), 'utf8')).toBe('state folder content');
      // Folders emptied by the deletes are gone.
      for (const dir of ['dir', 'old', 'stray-dir']) expect(existsSync(join(t.path, dir)), dir).toBe(false);
      expect(readState(t.path)).toMatchObject({ release: v2, mode: 'authoritative', kept: [] });
    });

    it('max-deletes stops an authoritative deploy before any write', async () => {
      const r = repo();
      const v1 = r.commit({ 'a.json': 'a' });
      const t = await target();
      mkdirSync(t.path);
      for (const n of ['x', 'y', 'z']) writeFileSync(join(t.path, n), n);
      const before = exactTree(t.path);
      const error = await rejection(deploy(t, r.dir, v1, { mode: 'authoritative', maxDeletes: 2 }));
      expect(error.code).toBe('E_MAX_DELETES');
      expect(exactTree(t.path)).toEqual(before);
    });

    describe('drift', () => {
      async function drifted() {
        const r = repo();
        const v1 = r.commit(V1);
        const v2 = r.commit(V2);
        const t = await target();
        await deploy(t, r.dir, v1);
        writeFileSync(join(t.path, 'a.json'), 'edited by hand');
        return { r, v1, v2, t };
      }

      it('on-drift: fail lists the files and writes nothing at all', async () => {
        const { r, v1, v2, t } = await drifted();
        const before = exactTree(t.path, []);
        const error = await rejection(deploy(t, r.dir, v2));
        expect(error.code).toBe('E_DRIFT');
        expect(error.message).toMatch(
          /1 file\(s\) changed on the target .*: a\.json — set on-drift: overwrite/,
        );
        expect(exactTree(t.path, [])).toEqual(before); // the state folder included
        expect(readState(t.path)?.release).toBe(v1);
      });

      it('on-drift: overwrite replaces the file and backs up the hand-edited bytes', async () => {
        const { r, v2, t } = await drifted();
        const { plan } = await deploy(t, r.dir, v2, { onDrift: 'overwrite' });
        expect(plan.changes.drift).toEqual(['a.json']);
        expect(readFileSync(join(t.path, 'a.json'), 'utf8')).toBe('{"v":2}');
        await rollback(t);
        expect(readFileSync(join(t.path, 'a.json'), 'utf8')).toBe('edited by hand');
      });

      it('on-drift: skip leaves the file as it is and ships the rest', async () => {
        const { r, v2, t } = await drifted();
        const { plan } = await deploy(t, r.dir, v2, { onDrift: 'skip' });
        expect(plan.changes.drift).toEqual(['a.json']);
        expect(readFileSync(join(t.path, 'a.json'), 'utf8')).toBe('edited by hand');
        expect(readFileSync(join(t.path, 'b2.json'), 'utf8')).toBe('new file');
        expect(readState(t.path)?.release).toBe(v2);
      });
    });

    it('rollback restores byte for byte: contents, modes, links, added files removed, fresh mtimes, state', async () => {
      const r = repo();
      const v1 = r.commit(V1);
      const v2 = r.commit(V2);
      const t = await target();
      await deploy(t, r.dir, v1);
      // Modes git does not know survive too; an old mtime shows that restored files are fresh.
      chmodSync(join(t.path, 'b.json'), 0o600);
      chmodSync(join(t.path, 'a.json'), 0o640);
      const old = new Date('2020-01-01T00:00:00Z');
      utimesSync(join(t.path, 'a.json'), old, old);
      const before = exactTree(t.path);
      const stateBefore = readFileSync(join(t.path, '.diffship/state.json'), 'utf8');

      await deploy(t, r.dir, v2, { mode: 'authoritative' });
      expect(exactTree(t.path)).not.toEqual(before);
      // The backup holds a file for each file entry and nothing else: what was linked with its lstat
      // (a symlink's own inode) went again.
      const backups = join(t.path, '.diffship/backups');
      const id = readdirSync(backups).sort().at(-1)!;
      const listing = JSON.parse(readFileSync(join(backups, id, 'manifest.json'), 'utf8')) as {
        entries: Array<{ type?: string; file?: string }>;
      };
      const kept = listing.entries.filter((e) => e.type === 'file').map((e) => e.file);
      expect(listing.entries.filter((e) => e.type === 'symlink')).toHaveLength(1);
      expect(
        readdirSync(join(backups, id, 'files'))
          .map((f) => `files/${f}`)
          .sort(),
      ).toEqual(kept.sort());
      const back = await rollback(t);
      expect(back.restored).toBe(v1);
      expect(exactTree(t.path)).toEqual(before);
      expect(statSync(join(t.path, 'a.json')).mtimeMs).toBeGreaterThan(Date.now() - 120_000);
      expect(readFileSync(join(t.path, '.diffship/state.json'), 'utf8')).toBe(stateBefore);

      // Once more: back to "nothing recorded", which removes every file v1 added.
      const first = await rollback(t);
      expect(first.restored).toBeNull();
      expect(exactTree(t.path)).toEqual({});
      expect(readState(t.path)).toBeNull();
      const none = await rejection(rollback(t));
      expect(none.code).toBe('E_STATE');
      expect(none.message).toMatch(/no backup to roll back to/);
    });

    describe('the lock', () => {
      it('a second session fails at once with E_LOCK naming the holder; the holder keeps its lock', async () => {
        const r = repo();
        const v1 = r.commit({ 'a.json': 'a' });
        const t = await target();
        const first = await session(t);
        const held = readFileSync(join(t.path, '.diffship/lock.json'), 'utf8');
        const t0 = Date.now();
        const error = await rejection(session(t));
        expect(Date.now() - t0).toBeLessThan(10_000);
        expect(error.code).toBe('E_LOCK');
        expect(error.message).toContain(
          `@${hostname()} (pid ${process.pid}, deploy ${first.deployId}) since `,
        );
        expect(readFileSync(join(t.path, '.diffship/lock.json'), 'utf8')).toBe(held);
        const plan = await first.plan({ repo: r.dir, to: v1, mode: 'additive', onDrift: 'fail' });
        await first.apply(plan, r.dir);
        await first.close();
        expect(existsSync(join(t.path, '.diffship/lock.json'))).toBe(false);
        expect(readFileSync(join(t.path, 'a.json'), 'utf8')).toBe('a');
      });

      it('a lock whose process on this host is dead is taken over with a warning', async () => {
        const r = repo();
        const v1 = r.commit({ 'a.json': 'a' });
        const t = await target();
        mkdirSync(join(t.path, '.diffship'), { recursive: true });
        // A real pid that has just exited.
        const dead = spawnSync('true').pid;
        const lock = {
          deployId: 'dead-holder',
          command: 'deploy',
          user: 'someone',
          host: hostname(),
          pid: dead,
          since: new Date().toISOString(),
          leaseUntil: new Date(Date.now() + 60_000).toISOString(),
        };
        writeFileSync(join(t.path, '.diffship/lock.json'), JSON.stringify(lock));
        const log = recordingLog();
        await deploy(t, r.dir, v1, {}, log);
        expect(log.warnings.join('\n')).toMatch(
          new RegExp(
            `taking over a stale lock held by someone@.*pid ${dead}, deploy dead-holder.*: its process ${dead} on .* is gone`,
          ),
        );
        expect(readFileSync(join(t.path, 'a.json'), 'utf8')).toBe('a');
        expect(existsSync(join(t.path, '.diffship/lock.json'))).toBe(false);
      });
    });

    it('state files made huge (sparse: free on the host) are refused from their size, unread: E_STATE naming file, size, limit; the target untouched', async () => {
      const r = repo();
      const v1 = r.commit({ 'a.json': 'a' });
      const v2 = r.commit({ 'a.json': 'a2' });
      const t = await target();
      await deploy(t, r.dir, v1);
      const files = snapshot(t.path, ['.diffship']);
      const cases = [
        { file: 'state.json', size: 1024 ** 3, limit: '256 MiB', fix: 'inspect or remove it' },
        { file: 'journal.json', size: 1024 ** 3, limit: '256 MiB', fix: 'inspect or remove it' },
        { file: 'lock.json', size: 100 * 1024, limit: '64 KiB', fix: 'remove it if none is running' },
      ];
      for (const c of cases) {
        const at = join(t.path, '.diffship', c.file);
        const kept = existsSync(at) ? readFileSync(at) : null;
        writeFileSync(at, '');
        truncateSync(at, c.size);
        const before = process.memoryUsage().rss;
        const error = await rejection(deploy(t, r.dir, v2));
        expect(process.memoryUsage().rss - before, c.file).toBeLessThan(200 * 1024 * 1024);
        expect(error.code, c.file).toBe('E_STATE');
        const size = c.size === 1024 ** 3 ? '1 GiB' : '100 KiB';
        expect(error.message).toMatch(
          new RegExp(
            `/\\.diffship/${c.file}: it is ${size}, more than the ${c.limit} diffship reads of it — .*${c.fix}$`,
          ),
        );
        expect(snapshot(t.path, ['.diffship']), c.file).toEqual(files);
        // The deploy's own lock is gone; the huge one it met stays for a person to look at.
        expect(existsSync(join(t.path, '.diffship/lock.json')), c.file).toBe(c.file === 'lock.json');
        if (kept) writeFileSync(at, kept);
        else rmSync(at);
      }
      await deploy(t, r.dir, v2);
      expect(readFileSync(join(t.path, 'a.json'), 'utf8')).toBe('a2');
    });

    it('refuses to write through a symlinked folder on the target (E_UNSAFE), the link destination untouched', async () => {
      const r = repo();
      const v1 = r.commit({ 'dir/deep/c.json': 'cee', 'dir/d.json': 'dee', 'top.json': 'top' });
      const t = await target();
      const outside = join(base, `outside-${counter++}`);
      mkdirSync(join(outside, 'deep'), { recursive: true });
      writeFileSync(join(outside, 'deep/c.json'), 'not yours');
      mkdirSync(t.path);
      symlinkSync(outside, join(t.path, 'dir'));
      const outsideBefore = exactTree(outside, []);
      const error = await rejection(deploy(t, r.dir, v1));
      expect(error.code).toBe('E_UNSAFE');
      expect(error.message).toMatch(/dir is a symlink/);
      expect(exactTree(outside, [])).toEqual(outsideBefore);
      expect(exactTree(t.path)).toEqual({ dir: `link -> ${outside}` });
      expect(readState(t.path)).toBeNull();
      // Authoritative mode removes the stray link itself (never what it points to) and makes a real
      // folder; a rollback puts the link back.
      await deploy(t, r.dir, v1, { mode: 'authoritative' });
      expect(exactTree(t.path)).toEqual(exactTree(r.dir, ['.git']));
      expect(exactTree(outside, [])).toEqual(outsideBefore);
      await rollback(t);
      expect(exactTree(t.path)).toEqual({ dir: `link -> ${outside}` });
      expect(exactTree(outside, [])).toEqual(outsideBefore);
    });

    it('hostile names survive deploy, update, delete and rollback', async () => {
      const names = options.hostileNames ?? HOSTILE;
      const r = repo();
      const t1: Tree = {};
      const t2: Tree = {};
      names.forEach((n, i) => {
        t1[n] = `top ${i}\n`;
        t1[`${n}.d/${n}`] = `nested ${i}\n`;
        if (i % 3 === 0)
          t2[n] = `top ${i} v2\n`; // updated
        else if (i % 3 === 1) t2[n] = { link: `${n}.d/${n}` }; // became a link; its folder is deleted
        // i % 3 === 2: deleted
        if (i % 3 !== 1) t2[`${n}.d/${n}`] = `nested ${i}\n`;
      });
      const v1 = r.commit(t1);
      const want1 = exactTree(r.dir, ['.git']);
      const v2 = r.commit(t2);
      const want2 = exactTree(r.dir, ['.git']);
      const t = await target();
      await deploy(t, r.dir, v1);
      expect(exactTree(t.path)).toEqual(want1);
      await deploy(t, r.dir, v2, { mode: 'authoritative' });
      expect(exactTree(t.path)).toEqual(want2);
      await rollback(t);
      expect(exactTree(t.path)).toEqual(want1);
      await rollback(t);
      expect(exactTree(t.path)).toEqual({});
      expect(existsSync(join(t.path, 'pwned'))).toBe(false);
    });

    it('plan on a folder that does not exist yet sees an empty target and creates nothing; rollback there is E_STATE', async () => {
      const r = repo();
      const v1 = r.commit({ 'a.json': 'a', 'b/c.json': 'c' });
      const t = await target();
      const raw = t.transport();
      const error = await rejection(raw.connect({ create: false }));
      expect(error).toBeInstanceOf(TransportError);
      expect(error).toMatchObject({ code: 'E_CONNECT', rootMissing: true });
      await raw.close();

      const s = await session(t, 'plan', undefined, true);
      expect(s.missing).toBe(true);
      const plan = await s.plan({ repo: r.dir, to: v1, mode: 'authoritative', onDrift: 'fail' });
      expect(plan.changes.added.sort()).toEqual(['a.json', 'b/c.json']);
      await s.close();
      expect(existsSync(t.path)).toBe(false);
      const none = await rejection(rollback(t));
      expect(none.code).toBe('E_STATE');
      expect(existsSync(t.path)).toBe(false);

      // A root that is a file is not "missing": that stays an error of its own.
      writeFileSync(t.path, 'a file');
      const onFile = t.transport();
      const notDir = await rejection(onFile.connect({ create: true }));
      expect(notDir).toMatchObject({ code: 'E_CONNECT', rootMissing: false });
      await onFile.close();
      rmSync(t.path);
    });

    describe('crash recovery', () => {
      let r: ReturnType<typeof makeRepo>;
      let ws: string;
      let snapV1: Record<string, SnapEntry>;
      let snapV2: Record<string, SnapEntry>;
      let v2Sha: string;

      beforeAll(() => {
        r = makeRepo();
        const v1: Tree = {};
        const v2: Tree = {};
        for (let i = 0; i < 400; i++) {
          const dir = `d${i % 8}/s${i % 3}`;
          const body = `file ${i} `.repeat(20 + (i % 5) * 300);
          v1[`${dir}/f${i}.json`] = body;
          if (i % 10 === 0) continue; // deleted
          if (i % 10 === 1)
            v2[`moved/${dir}/f${i}.json`] = body; // renamed
          else if (i % 10 < 8)
            v2[`${dir}/f${i}.json`] = `${body} v2`; // updated
          else v2[`${dir}/f${i}.json`] = body;
        }
        for (let i = 0; i < 50; i++) v2[`new/n${i}.json`] = `new ${i} `.repeat(200);
        v1['tool.sh'] = { content: '#!/bin/sh\n', mode: 0o644 };
        v2['tool.sh'] = { content: '#!/bin/sh\n', mode: 0o755 };
        v1['current'] = { link: 'd0/s0/f0.json' };
        v2['current'] = { link: 'new/n0.json' };
        r.commit(v1);
        execFileSync('git', ['tag', 'v1'], { cwd: r.dir });
        snapV1 = snapshot(r.dir, ['.git']);
        v2Sha = r.commit(v2);
        execFileSync('git', ['tag', 'v2'], { cwd: r.dir });
        snapV2 = snapshot(r.dir, ['.git']);
        ws = tempDir(`diffship-engine-crash-${name}-`);
      });
      afterAll(() => {
        r.cleanup();
        rmSync(ws, { recursive: true, force: true });
      });

      it('after SIGKILL of a CLI deploy in its commit, every file is old or new and the next deploy converges', async () => {
        const t = await target();
        const config = t
          .targetConfig()
          .split('\n')
          .filter(Boolean)
          .map((line) => `    ${line}`);
        writeFileSync(
          join(ws, 'diffship.yml'),
          ['mode: authoritative', 'waves: [1]', 'targets:', '  - name: host', ...config, ''].join('\n'),
        );
        const deploy = (ref: string) => cli(ws, ['deploy', '--repo', r.dir, '--to', ref, '--no-progress']);
        const first = deploy('v1');
        expect(first.code, first.stdout + first.stderr).toBe(0);
        expect(snapshot(t.path)).toEqual(snapV1);

        const minRounds = options.crashRounds ?? 3;
        const delays = [0, 3, 8, 1, 15, 5, 30, 2];
        let mixed = 0;
        let round = 0;
        // A few rounds; a few more while no kill has caught a commit half-way.
        for (; round < minRounds || (mixed === 0 && round < delays.length); round++) {
          const delay = delays[round % delays.length]!;
          const { child, done } = cliStart(ws, ['deploy', '--repo', r.dir, '--to', 'v2']);
          // Progress lines name the phase: wait for the first rename into place.
          await untilCommit(child);
          await new Promise((res) => setTimeout(res, delay));
          child.kill('SIGKILL');
          const killed = await done;
          const where = `round ${round}, kill ${delay} ms into the commit`;

          const snap = snapshot(t.path);
          const isMixed = expectOldOrNew(snap, snapV1, snapV2, where) && killed.code === null;
          if (isMixed) mixed++;

          const next = deploy('v2');
          expect(next.code, `${where}: ${next.stdout}${next.stderr}`).toBe(0);
          // A half-done commit is undone from the journal first, and says so.
          if (isMixed) expect(next.stderr, where).toMatch(/undid interrupted deploy/);
          expect(snapshot(t.path), where).toEqual(snapV2);
          expect(readState(t.path)?.release).toBe(v2Sha);
          expect(existsSync(join(t.path, '.diffship/journal.json'))).toBe(false);
          const back = deploy('v1');
          expect(back.code, `${where}: ${back.stdout}${back.stderr}`).toBe(0);
          expect(snapshot(t.path), where).toEqual(snapV1);
        }
        expect(mixed, `no kill in ${round} rounds left a half-committed tree`).toBeGreaterThan(0);
        console.log(
          `engine crash test (${name}): ${mixed}/${round} kills left a half-committed tree that the next deploy undid`,
        );
      }, 300_000);
    });
  });
}
