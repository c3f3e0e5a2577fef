/**
 * A remote stall mid-transfer (issue 13): while a deploy stages its files (or
 * once its journal is written, in its commit), the session's processes on the
 * host — the perl file helper and the sftp-server — are SIGSTOPped, as a hung
 * disk or a frozen container stops them. The deploy must fail within
 * reply-timeout with one line (staging: the target untouched; commit: each
 * file old or new, or the renames all landed before the stop); the next
 * deploy (with the stopped processes still there) must land the release
 * exactly; and when the stopped processes are finally continued, whatever they
 * still had queued must not change the target.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cli, cliStart } from '../helpers/cli.js';
import { git, tempDir } from '../helpers/git.js';
import { expectOldOrNew } from '../helpers/crash.js';
import { litter } from '../helpers/kill-points.js';
import { makeRepo, snapshot, type SnapEntry, type Tree } from '../helpers/repo.js';
import { startSshd, sshTargetYaml, type Sshd } from '../helpers/sshd.js';

let sshd: Sshd;
let ws: string;
let target: string;
const repo = makeRepo();
const snaps: Record<string, Record<string, SnapEntry>> = {};

/** Pids below `root` (Linux /proc) whose command line matches `pattern`. */
function remoteProcesses(roots: number[], pattern: RegExp): number[] {
  const parent = new Map<number, number>();
  const command = new Map<number, string>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      parent.set(Number(name), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
      command.set(Number(name), readFileSync(`/proc/${name}/cmdline`, 'utf8').replace(/\0/g, ' '));
    } catch {
      // exited while we looked
    }
  }
  const below = (pid: number): boolean => {
    for (let p = parent.get(pid); p !== undefined && p > 1; p = parent.get(p))
      if (roots.includes(p)) return true;
    return false;
  };
  return [...command].filter(([pid, cmd]) => pattern.test(cmd) && below(pid)).map(([pid]) => pid);
}

beforeAll(async () => {
  sshd = await startSshd();
  ws = tempDir('diffship-remote-stall-');
  target = join(ws, 'target');
  const releases: Record<string, Tree> = { v1: { 'a.txt': 'a1\n', 'keep.txt': 'keep\n' } };
  // Enough bytes that staging over SSH is under way for a while.
  const v2: Tree = { 'a.txt': 'a2\n', 'keep.txt': 'keep\n' };
  for (let i = 0; i < 120; i++) v2[`big/f${i}.bin`] = randomBytes(256 * 1024).toString('latin1');
  releases.v2 = v2;
  for (const [tag, tree] of Object.entries(releases)) {
    repo.commit(Object.fromEntries(Object.entries(tree).map(([p, c]) => [`app/${p}`, c])), tag);
    git(repo.dir, 'tag', tag);
    snaps[tag] = snapshot(join(repo.dir, 'app'));
  }
  writeFileSync(
    join(ws, 'diffship.yml'),
    [
      'source: app',
      'mode: authoritative',
      'targets:',
      ...sshTargetYaml(sshd, target),
      '    reply-timeout: 2s',
      '',
    ].join('\n'),
  );
}, 60_000);
afterAll(async () => {
  await sshd?.stop();
  repo.cleanup();
  rmSync(ws, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Has the deploy reached `point` on the target? */
function reached(point: 'staging' | 'commit'): boolean {
  const d = join(target, '.diffship');
  if (point === 'commit') return existsSync(join(d, 'journal.json'));
  const staging = join(d, 'staging');
  // Created folders are staged whole (staged-tree.ts): the staged files may sit a few folders down.
  return (
    existsSync(staging) &&
    readdirSync(staging).some((id) => readdirSync(join(staging, id), { recursive: true }).length > 3)
  );
}

it.each([
  { point: 'staging' as const, from: 'v1', to: 'v2' },
  { point: 'commit' as const, from: 'v2', to: 'v1' },
])(
  'SIGSTOPped helper and sftp-server at $point: fails within reply-timeout, next deploy converges, the late wake-up changes nothing',
  async ({ point, from, to }) => {
    const first = cli(ws, ['deploy', '--repo', repo.dir, '--to', from, '--no-progress']);
    expect(first.code, first.stderr).toBe(0);

    const run = cliStart(ws, ['deploy', '--repo', repo.dir, '--to', to, '--no-progress']);
    while (!reached(point)) {
      expect(run.child.exitCode, `the deploy ended before ${point}`).toBeNull();
      await sleep(1);
    }
    const stopped = remoteProcesses(sshd.sessionPids(), /perl|sftp-server/);
    expect(stopped.length, 'no helper or sftp-server found on the host').toBeGreaterThan(0);
    for (const pid of stopped) process.kill(pid, 'SIGSTOP');
    try {
      const t0 = Date.now();
      const failed = await run.done;
      const ms = Date.now() - t0;
      // Stopped at the journal, the renames may all have been sent already: then it succeeds.
      if (failed.code !== 0) {
        expect(failed.code, failed.stderr).toBe(1);
        // 2 s of silence, then the stop: well before the 30 s default or a hang.
        expect(ms, failed.stderr).toBeLessThan(15_000);
        const lines = failed.stderr.split('\n').filter((l) => /no answer from the host/.test(l));
        expect(lines.length, failed.stderr).toBeGreaterThan(0);
        expect(lines[0], failed.stderr).toMatch(
          /no answer from the host for 2s while .* raise reply-timeout \(now 2s\)/,
        );
        expect(failed.stderr, 'no stack trace').not.toMatch(/^\s+at /m);
      }
      if (point === 'staging') expect(snapshot(target)).toEqual(snaps[from]);
      else expectOldOrNew(snapshot(target), snaps[from]!, snaps[to]!, `stalled at ${point}`);

      // The stopped processes stay stopped: a new connection gets new ones.
      const next = cli(ws, ['deploy', '--repo', repo.dir, '--to', to, '--no-progress']);
      expect(next.code, next.stderr).toBe(0);
      expect(snapshot(target)).toEqual(snaps[to]);
      expect(litter(target)).toEqual([]);
    } finally {
      for (const pid of stopped) process.kill(pid, 'SIGCONT');
    }
    // Woken late, they run what they still had queued: none of it may change the target.
    await sleep(1500);
    for (const pid of stopped)
      expect(existsSync(`/proc/${pid}`) && !/ Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))).toBe(
        false,
      );
    expect(snapshot(target)).toEqual(snaps[to]);
    expect(litter(target)).toEqual([]);
  },
  120_000,
);
