/**
 * No stall, ever (issue 13), against a real OpenSSH server whose remote shell
 * can be made to hang (test/helpers/stall.ts: every new exec session sleeps a
 * minute, as behind a blocked login rc file; SFTP keeps answering):
 * - a deploy to the stalled host fails after `reply-timeout` with one line
 *   naming the host, what it waited for and the setting, the target untouched;
 * - SIGTERM ends the CLI within 5 s while the remote shell is stalled, while a
 *   remote hook runs, and in the middle of staging;
 * - after each, the next deploy succeeds and the target is exactly the release.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deploy } from '../../src/api.js';
import { SshTransport } from '../../src/transport/ssh/ssh-transport.js';
import { loadConfig } from '../../src/config/load.js';
import type { Report } from '../../src/report/types.js';
import { cliStart, type CliResult } from '../helpers/cli.js';
import { git, tempDir } from '../helpers/git.js';
import { makeRepo, snapshot, type Tree } from '../helpers/repo.js';
import { sshTargetYaml } from '../helpers/sshd.js';
import { startStallingSshd, type StallingSshd } from '../helpers/stall.js';

/** Issue 13: SIGTERM ends any deploy within this. */
const SIGNAL_BOUND_MS = 5000;

let sshd: StallingSshd;
let ws: string;
let target: string;
const repo = makeRepo();
const releases: Record<string, Tree> = {};
let runs = 0;

function release(tag: string, tree: Tree): void {
  releases[tag] = tree;
  repo.commit(Object.fromEntries(Object.entries(tree).map(([p, c]) => [`app/${p}`, c])), tag);
  git(repo.dir, 'tag', tag);
}

function config(file: string, extra: string[] = [], defaults: string[] = []): void {
  const lines = [
    'source: app',
    'mode: authoritative',
    ...defaults,
    'targets:',
    ...sshTargetYaml(sshd, target),
    ...extra,
    '',
  ];
  writeFileSync(join(ws, file), lines.join('\n'));
}

interface Run extends CliResult {
  report: Report | null;
}

function start(tag: string, file = 'plain.yml', more: string[] = []) {
  const report = join(ws, `report-${++runs}.json`);
  const s = cliStart(ws, [
    'deploy',
    '-c',
    file,
    '--repo',
    repo.dir,
    '--to',
    tag,
    '--no-progress',
    '--report',
    report,
    ...more,
  ]);
  const done = s.done.then((r): Run => ({
    ...r,
    report: existsSync(report) ? (JSON.parse(readFileSync(report, 'utf8')) as Report) : null,
  }));
  return { child: s.child, done };
}

/** Wait for `ready` (polled), SIGTERM the run, and measure until the process has exited. */
async function signalWhen(run: ReturnType<typeof start>, ready: () => boolean, what: string) {
  const deadline = Date.now() + 60_000;
  while (!ready()) {
    if (run.child.exitCode !== null || Date.now() > deadline) {
      const r = await run.done;
      throw new Error(`never saw ${what}; the deploy exited ${r.code}:\n${r.stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const signalled = Date.now();
  run.child.kill('SIGTERM');
  const result = await run.done;
  return { result, ms: Date.now() - signalled };
}

/** The target's files (not the state folder) are exactly `tag`'s. */
function expectRelease(tag: string): void {
  const files = Object.fromEntries(Object.entries(snapshot(target)).filter(([, e]) => e.type !== 'dir'));
  const want = Object.fromEntries(
    Object.entries(releases[tag]!).map(([p, c]) => [
      p,
      { type: 'file', content: Buffer.from(c as string).toString('latin1'), exec: false },
    ]),
  );
  expect(Object.keys(files).sort()).toEqual(Object.keys(want).sort());
  expect(files).toEqual(want);
}

async function deployOk(tag: string): Promise<Run> {
  const r = await start(tag).done;
  expect(r.code, r.stderr).toBe(0);
  expectRelease(tag);
  expect(readdirSync(join(target, '.diffship'))).not.toContain('lock.json');
  return r;
}

beforeAll(async () => {
  sshd = await startStallingSshd();
  ws = tempDir('diffship-stall-');
  target = join(ws, 'target');
  mkdirSync(target);
  release('v1', { 'a.txt': 'a1\n', 'keep.txt': 'keep\n' });
  release('v2', { 'a.txt': 'a2\n', 'keep.txt': 'keep\n', 'b.txt': 'b2\n' });
  release('v3', { 'a.txt': 'a3\n', 'keep.txt': 'keep\n', 'c.txt': 'c3\n' });
  // Enough bytes that staging over SSH is under way for a while.
  const big: Tree = { 'a.txt': 'a4\n' };
  for (let i = 0; i < 300; i++) big[`big/f${i}.bin`] = randomBytes(256 * 1024).toString('latin1');
  release('v4', big);
  config('plain.yml');
  config('short.yml', ['    reply-timeout: 2s']);
  const marker = join(ws, 'hook-started');
  config(
    'hook.yml',
    [],
    ['defaults:', `  before: { remote: ${JSON.stringify(`touch '${marker}' && sleep 60`)} }`],
  );
  await deployOk('v1');
}, 120_000);

afterAll(async () => {
  sshd?.unstall();
  await sshd?.stop();
  repo.cleanup();
});

describe('a stalled remote shell', () => {
  it('fails the deploy after reply-timeout, naming host, wait and setting; the target is untouched', async () => {
    sshd.stall(60);
    const t0 = Date.now();
    const r = await start('v2', 'short.yml', ['--skip-preflight']).done;
    const ms = Date.now() - t0;
    expect(r.code, r.stderr).not.toBe(0);
    // 2 s of silence, not the minute the shell sleeps.
    expect(ms).toBeLessThan(20_000);
    const error = r.report!.targets[0]!.error!;
    expect(error).toContain(`127.0.0.1:${sshd.port}`);
    expect(error).toMatch(
      /no answer from the host for 2s while waiting for .+ — .*raise reply-timeout \(now 2s\)/,
    );
    expect(error).not.toContain('\n');
    expect(sshd.stalledSessions()).toBeGreaterThan(0);
    expectRelease('v1');
  }, 60_000);

  it('a stalled SFTP subsystem does not stall a deploy (never opened); an operation that needs it fails after reply-timeout', async () => {
    // sshd runs sftp-server through the login shell: here only that one stalls.
    sshd.stall(60, { sftp: 'only' });
    try {
      const r = await start('v2', 'short.yml', ['--skip-preflight']).done;
      expect(r.code, `${r.stderr} ${r.report?.targets[0]?.error}`).toBe(0);
      expectRelease('v2');
      // The file helper does everything a deploy needs (reads of any size too); without it
      // (bulk ops off, as where perl cannot run) even connecting needs SFTP.
      const t = new SshTransport({ ...sshd.sshOptions(), replyTimeoutMs: 2000 }, target, undefined, {
        bulkOps: false,
      });
      try {
        const t0 = Date.now();
        await expect(t.connect()).rejects.toThrow(
          /no answer from the host for 2s while waiting for the SFTP session to start .* raise reply-timeout/,
        );
        expect(Date.now() - t0).toBeLessThan(20_000);
      } finally {
        await t.close();
      }
    } finally {
      sshd.unstall();
    }
    await deployOk('v1');
    expectRelease('v1');
  }, 60_000);

  it('ends on SIGTERM within 5 s while the shell hangs (reply-timeout far away)', async () => {
    sshd.stall(60);
    const before = sshd.stalledSessions();
    const run = start('v2', 'plain.yml', ['--skip-preflight']);
    const { result, ms } = await signalWhen(run, () => sshd.stalledSessions() > before, 'a stalled session');
    expect(ms, result.stderr).toBeLessThan(SIGNAL_BOUND_MS);
    expect(result.code).toBe(1);
    expect(result.report?.status).toBe('cancelled');
    // The report says why the step failed: the cancellation closed the connection.
    expect(result.report?.targets[0]?.error).toMatch(/^[a-z]+: cut short by the cancellation: /);
    expectRelease('v1');
  }, 90_000);

  it('the library: deploy() resolves within 5 s of its signal aborting, with a cancelled report', async () => {
    sshd.stall(60);
    const before = sshd.stalledSessions();
    const controller = new AbortController();
    const config = await loadConfig(join(ws, 'plain.yml'));
    config.preflight = false;
    const deploying = deploy({ config, repo: repo.dir, to: 'v2', signal: controller.signal });
    const deadline = Date.now() + 60_000;
    while (sshd.stalledSessions() === before && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 20));
    expect(sshd.stalledSessions()).toBeGreaterThan(before);
    const aborted = Date.now();
    controller.abort();
    const report = await deploying;
    expect(Date.now() - aborted).toBeLessThan(SIGNAL_BOUND_MS);
    expect(report.status).toBe('cancelled');
    expect(report.targets[0]!.status).toBe('failed');
    expectRelease('v1');
  }, 90_000);

  it('then, with the shell back, the next deploy finishes and the target is exactly the release', async () => {
    sshd.unstall();
    await deployOk('v2');
  }, 60_000);
});

describe('SIGTERM', () => {
  it('during a long remote hook: exits within 5 s; the next deploy succeeds', async () => {
    const marker = join(ws, 'hook-started');
    const run = start('v3', 'hook.yml');
    const { result, ms } = await signalWhen(run, () => existsSync(marker), 'the hook');
    expect(ms, result.stderr).toBeLessThan(SIGNAL_BOUND_MS);
    expect(result.code).toBe(1);
    expect(result.report?.status).toBe('cancelled');
    expectRelease('v2');
    await deployOk('v3');
  }, 90_000);

  it('in the middle of staging: exits within 5 s; the next deploy finishes the release exactly', async () => {
    const staging = join(target, '.diffship', 'staging');
    const staged = () =>
      existsSync(staging) && readdirSync(staging).some((id) => readdirSync(join(staging, id)).length > 0);
    const run = start('v4');
    const { result, ms } = await signalWhen(run, staged, 'staging');
    expect(ms, result.stderr).toBeLessThan(SIGNAL_BOUND_MS);
    expect(result.code).toBe(1);
    await deployOk('v4');
  }, 120_000);
});
