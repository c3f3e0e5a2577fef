/**
 * A release that turns a folder into a file (or back), cut off at every step of its commit:
 * the target dies at the Nth change after the journal (every later call fails too, so the
 * failed commit's own undo cannot run either: what a crash leaves). The next run recovers from
 * the journal and the backup: the old tree exactly (folder, its files and sub-folders), or the
 * new one once the state named it. Real git repo, real target folder; the dying transport
 * wraps a LocalTransport, or an SshTransport to a real sshd on loopback.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { LocalTransport } from '../../src/transport/local/local-transport.js';
import { SshTransport } from '../../src/transport/ssh/ssh-transport.js';
import { startSshd, type Sshd } from '../helpers/sshd.js';
import { TargetSession } from '../../src/apply/session.js';
import { forceUnlock } from '../../src/apply/lock.js';
import { layout } from '../../src/apply/layout.js';
import type { Transport } from '../../src/transport/transport.js';
import { makeRepo, snapshot, type Tree } from '../helpers/repo.js';
import { tempDir } from '../helpers/git.js';

let sshd: Sshd | undefined;
beforeAll(async () => {
  sshd = await startSshd();
}, 60_000);
afterAll(async () => {
  await sshd?.stop();
});

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

const MUTATING = new Set([
  'unlink',
  'rmdir',
  'rename',
  'mkdirp',
  'makeDir',
  'removeTree',
  'writeFile',
  'symlink',
  'link',
]);

/** Dies at the `n`th change to the target after the journal is written (counted from 0). */
function dyingAfterJournal(real: Transport, n: number): { transport: Transport; died: () => boolean } {
  let journaled = false;
  let count = 0;
  let dead = false;
  const transport = new Proxy(real, {
    get(target, prop) {
      // A publish runs as its steps (json-file.ts falls back to them) so that a crash lands
      // between them: the states the helper's chained records stop at (publish.ts). So do
      // a commit's renames (rename-staged.ts): a crash between a created folder's and a file's.
      if (prop === 'publishFile' || prop === 'renameAllThenStat') return undefined;
      const value = Reflect.get(target, prop, target) as unknown;
      if (typeof value !== 'function' || prop === 'close' || prop === 'kind' || prop === 'description')
        return value;
      return (...args: unknown[]) => {
        if (dead) throw new Error('target died');
        if (journaled && MUTATING.has(String(prop)) && count++ === n) {
          dead = true;
          throw new Error('target died');
        }
        const result = (value as (...a: unknown[]) => unknown).apply(target, args);
        if (prop === 'rename' && args[1] === '.diffship/journal.json')
          return Promise.resolve(result).then((r) => ((journaled = true), r));
        return result;
      };
    },
  });
  return { transport, died: () => dead };
}

async function deploy(transport: Transport, repo: string, to: string, mode: 'additive' | 'authoritative') {
  const s = await TargetSession.open({ transport, stateDir: '.diffship', command: 'deploy' });
  try {
    await s.apply(await s.plan({ repo, to, mode, onDrift: 'fail' }), repo);
  } finally {
    await s.close().catch(() => undefined);
  }
}

const recordedRelease = (target: string) =>
  (JSON.parse(readFileSync(join(target, '.diffship/state.json'), 'utf8')) as { release: string }).release;

const DIR: Tree = { 'x/y': 'why\n', 'x/sub/z': 'zed\n', 'keep.txt': 'k\n' };
const FILE: Tree = { x: 'ex\n', 'keep.txt': 'k\n' };

describe.each([
  ['additive', 'local'],
  ['authoritative', 'local'],
  ['additive', 'ssh'],
  ['authoritative', 'ssh'],
] as const)('a type swap cut at every commit step (%s, %s)', (mode, side) => {
  const open = (target: string): Transport =>
    side === 'local' ? new LocalTransport(target) : new SshTransport(sshd!.sshOptions(), target);
  it.each([
    ['folder → file', DIR, FILE],
    ['file → folder', FILE, DIR],
  ] as const)(
    '%s: the next run recovers the old tree exactly, or the new one',
    async (_, from, to) => {
      const repo = makeRepo();
      cleanups.push(repo.cleanup);
      const v1 = repo.commit(from);
      const v2 = repo.commit(to);
      // The new tree, as a deploy that is not cut leaves it.
      const clean = tempDir('diffship-typeswap-clean-');
      cleanups.push(() => rmSync(clean, { recursive: true, force: true }));
      await deploy(open(clean), repo.dir, v1, mode);
      await deploy(open(clean), repo.dir, v2, mode);
      const fresh = snapshot(clean);
      let finished = false;
      let cuts = 0;
      for (let n = 0; !finished && n < 60; n++) {
        const target = tempDir('diffship-typeswap-crash-');
        cleanups.push(() => rmSync(target, { recursive: true, force: true }));
        await deploy(open(target), repo.dir, v1, mode);
        const old = snapshot(target);
        const dying = dyingAfterJournal(open(target), n);
        const cut = await deploy(dying.transport, repo.dir, v2, mode).then(
          () => null,
          (e: unknown) => e,
        );
        finished = !dying.died();
        if (finished) {
          expect(cut).toBeNull();
          break;
        }
        cuts++;
        // Cut after the state named v2 (the journal's removal, the clean-up), the deploy stands.
        if (cut === null) expect(recordedRelease(target), `step ${n}`).toBe(v2);
        // The next run: the dead run's lock is taken over by hand, then open() recovers.
        const real = open(target);
        await real.connect({ create: false });
        await forceUnlock(real, layout('.diffship'));
        await real.close();
        const s = await TargetSession.open({
          transport: open(target),
          stateDir: '.diffship',
          command: 'deploy',
        });
        const release = s.state?.release;
        await s.close();
        const now = snapshot(target);
        if (release === v2) expect(now, `step ${n}: new tree`).toEqual(fresh);
        else {
          expect(now, `step ${n}: old tree`).toEqual(old);
          expect(release, `step ${n}`).toBe(v1);
        }
        expect(existsSync(join(target, '.diffship/journal.json'))).toBe(false);
      }
      expect(finished).toBe(true);
      expect(cuts).toBeGreaterThan(4); // every step of the commit was cut once
    },
    240_000,
  );
});
