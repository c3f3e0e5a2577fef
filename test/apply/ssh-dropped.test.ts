/**
 * The SSH server dies in the middle of a large deploy (1,500 files), through
 * the real CLI and a real OpenSSH server: the target fails cleanly (exit 1,
 * promptly), every file on it is its old or its new version, and once the
 * server is back the next deploy first finishes or undoes the interrupted one
 * from its journal, then converges exactly.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Report } from '../../src/report/types.js';
import { cli, cliStart } from '../helpers/cli.js';
import { makeRepo, snapshot, type SnapEntry, type Tree } from '../helpers/repo.js';
import { git, tempDir } from '../helpers/git.js';
import { SSHD_BINARY, startSshd, type Sshd, sshTargetYaml } from '../helpers/sshd.js';

const FILES = 1_500;

let repo: ReturnType<typeof makeRepo>;
let snapV1: Record<string, SnapEntry>;
let snapV2: Record<string, SnapEntry>;
let v2: string;
const cleanups: Array<() => Promise<void> | void> = [];

beforeAll(() => {
  repo = makeRepo();
  const t1: Tree = {};
  const t2: Tree = {};
  for (let i = 0; i < FILES; i++) {
    const path = `flows/team-${i % 30}/flow-${i}.xml`;
    const body = `<flow id="${i}">${'<step/>'.repeat(100 + (i % 13) * 40)}</flow>\n`;
    t1[path] = body;
    if (i % 50 === 0) continue; // deleted
    t2[path] = body.replace('<flow ', '<flow rev="2" '); // every other file is updated
  }
  for (let i = 0; i < 40; i++) t2[`added/a-${i}.xml`] = `<added n="${i}"/>\n`;
  repo.commit(t1);
  git(repo.dir, 'tag', 'v1');
  snapV1 = snapshot(repo.dir, ['.git']);
  v2 = repo.commit(t2);
  git(repo.dir, 'tag', 'v2');
  snapV2 = snapshot(repo.dir, ['.git']);
});
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
  repo?.cleanup();
});

/** A workspace with one authoritative ssh target on `sshd`. */
function workspace(sshd: Sshd): { ws: string; target: string } {
  const ws = tempDir('diffship-ssh-drop-');
  cleanups.push(() => rmSync(ws, { recursive: true, force: true }));
  const target = join(ws, 'target');
  writeFileSync(
    join(ws, 'diffship.yml'),
    ['mode: authoritative', 'targets:', ...sshTargetYaml(sshd, target), ''].join('\n'),
  );
  return { ws, target };
}

async function server(): Promise<Sshd> {
  const sshd = await startSshd();
  cleanups.push(() => sshd.stop());
  return sshd;
}

/** Start the same server again (same config, keys and port) after `kill()`, as a host coming back. */
async function restart(sshd: Sshd): Promise<ChildProcess> {
  const child = spawn(SSHD_BINARY, ['-D', '-e', '-f', join(sshd.dir, 'sshd_config')], {
    stdio: ['ignore', 'ignore', 'ignore'],
  });
  cleanups.push(() => {
    child.kill('SIGTERM');
  });
  const deadline = Date.now() + 10_000;
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect(sshd.port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return child;
    if (Date.now() > deadline || child.exitCode !== null)
      throw new Error(`sshd did not come back on port ${sshd.port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const deploy = (ws: string, ref: string) =>
  cli(ws, ['deploy', '--repo', repo.dir, '--to', ref, '--no-progress', '--report', join(ws, `${ref}.json`)]);

/**
 * Start a deploy of v2 and call `cut` as soon as its progress reaches `stage`, or, for
 * `commit`, as soon as its first rename shows on the target (the folder v2 adds, renamed
 * first: the commit's renames go to the host in one turn, their progress told at its end);
 * returns the finished run and how long it took to end after the cut.
 */
async function deployAndCut(ws: string, phase: 'stage' | 'commit', cut: () => Promise<void>) {
  const reportFile = join(ws, 'cut.json');
  const { child, done } = cliStart(ws, ['deploy', '--repo', repo.dir, '--to', 'v2', '--report', reportFile]);
  const pattern = /\] stage \d+\/\d+/;
  let ended = false;
  const reached = await new Promise<boolean>((resolve) => {
    child.on('close', () => ((ended = true), resolve(false)));
    if (phase === 'commit') {
      const renamed = () => {
        if (existsSync(join(ws, 'target', 'added'))) resolve(true);
        else if (!ended) setTimeout(renamed, 1);
      };
      renamed();
      return;
    }
    const onData = (d: Buffer) => {
      if (!pattern.test(d.toString())) return;
      child.stderr!.off('data', onData);
      resolve(true);
    };
    child.stderr!.on('data', onData);
  });
  expect(reached, `the deploy ended before its ${phase} phase`).toBe(true);
  await cut();
  const cutAt = Date.now();
  const r = await done;
  const report = JSON.parse(readFileSync(reportFile, 'utf8')) as Report;
  return { r, report, endedAfterMs: Date.now() - cutAt };
}

/** Every entry on the target is its v1 or its v2 version; files in both releases are all there. */
function expectOldOrNew(target: string, where: string): 'v1' | 'v2' | 'mixed' {
  const snap = snapshot(target);
  for (const [path, entry] of Object.entries(snap)) {
    const ok = [snapV1[path], snapV2[path]].some(
      (e) => e !== undefined && JSON.stringify(e) === JSON.stringify(entry),
    );
    expect(ok, `${path} is neither its v1 nor its v2 version (${where})`).toBe(true);
  }
  for (const path of Object.keys(snapV1))
    if (snapV2[path] !== undefined && snapV1[path]?.type === 'file')
      expect(snap[path], `${path} vanished (${where})`).toBeDefined();
  const s = JSON.stringify(snap);
  return s === JSON.stringify(snapV1) ? 'v1' : s === JSON.stringify(snapV2) ? 'v2' : 'mixed';
}

function expectConverged(ws: string, target: string, where: string) {
  const next = deploy(ws, 'v2');
  expect(next.code, `${where}: ${next.stdout}${next.stderr}`).toBe(0);
  expect(snapshot(target), where).toEqual(snapV2);
  const state = JSON.parse(readFileSync(join(target, '.diffship/state.json'), 'utf8')) as { release: string };
  expect(state.release).toBe(v2);
  expect(existsSync(join(target, '.diffship/journal.json'))).toBe(false);
  expect(existsSync(join(target, '.diffship/lock.json'))).toBe(false);
  return next;
}

describe(`the ssh server dies in the middle of a ${FILES}-file deploy`, () => {
  it('the server killed during the commit: exit 1, old-or-new files; back up, the next deploy undoes and converges', async () => {
    const sshd = await server();
    const { ws, target } = workspace(sshd);
    expect(deploy(ws, 'v1').code).toBe(0);
    expect(snapshot(target)).toEqual(snapV1);

    const { r, report, endedAfterMs } = await deployAndCut(ws, 'commit', () => sshd.kill());
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(endedAfterMs).toBeLessThan(20_000);
    expect(report.status).toBe('failed');
    // One clear reason, whichever request noticed first (not ssh2's bare "No response from server").
    expect(report.targets[0]!.error).toMatch(/^apply: .*: connection to [^@ ]+@127\.0\.0\.1:\d+ lost/);
    const left = expectOldOrNew(target, 'after the kill');
    expect(left).toBe('mixed'); // 1,500 renames are not done in the time it takes to kill sshd
    expect(existsSync(join(target, '.diffship/journal.json'))).toBe(true);

    // While the host is down, a deploy fails to connect (exit 2) and changes nothing.
    const down = deploy(ws, 'v2');
    expect(down.code, down.stdout + down.stderr).toBe(2);
    expect(expectOldOrNew(target, 'while down')).toBe('mixed');

    await restart(sshd);
    const next = expectConverged(ws, target, 'after the restart');
    expect(next.stderr).toMatch(/undid interrupted deploy/);
  }, 180_000);

  it('the server killed while staging: nothing on the target changed; back up, the next deploy converges', async () => {
    const sshd = await server();
    const { ws, target } = workspace(sshd);
    expect(deploy(ws, 'v1').code).toBe(0);
    const { r } = await deployAndCut(ws, 'stage', () => sshd.kill());
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(expectOldOrNew(target, 'after the kill')).toBe('v1');
    expect(existsSync(join(target, '.diffship/journal.json'))).toBe(false);
    await restart(sshd);
    expectConverged(ws, target, 'after the restart');
    // The leftover staging was cleaned up by the next run.
    expect(readdirNames(join(target, '.diffship/staging'))).toEqual([]);
  }, 180_000);

  it('every session killed during the commit (the listener stays): exit 1, old-or-new files, the next deploy converges', async () => {
    const sshd = await server();
    const { ws, target } = workspace(sshd);
    expect(deploy(ws, 'v1').code).toBe(0);
    const { r } = await deployAndCut(ws, 'commit', () => sshd.killSessions());
    expect(r.code, r.stdout + r.stderr).toBe(1);
    const left = expectOldOrNew(target, 'after the kill');
    const next = expectConverged(ws, target, 'next deploy');
    // A half-done commit was undone (now, by the failed run's rollback, or by the next run).
    if (left === 'mixed') expect(next.stderr).toMatch(/undid interrupted deploy/);
  }, 180_000);
});

function readdirNames(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir) : [];
}
