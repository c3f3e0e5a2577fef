#!/usr/bin/env node
// Kills and a stall at scale over SSH. Not a timing benchmark: a check that what CI proves on
// small releases (test/apply/ssh-kill-storm.test.ts, ssh-remote-stall.test.ts) holds with big
// ones, where staging, backup and commit take seconds. Run `npm run build` first.
//
//   npx node bench/ssh/kills.mjs [--files 100000] [--rounds 6] [--signal SIGKILL|SIGTERM]
//                                [--late 0.7] [--stall]
//
// Each round cuts one deploy with the signal at a random moment of how long it takes uncut
// (`--late f`: in the last 1 - f of it): even rounds a first deploy of A into an empty folder,
// odd ones the update A → B (100 files changed). Then the same deploy runs again and must
// succeed, and the target must equal the release file by file (contents, exec bits). With
// SIGTERM the cut run must also end within 5 s of the signal. `--stall`: one more round, the
// host's file helper SIGSTOPped halfway through a first deploy (reply-timeout 5s): the deploy
// must fail (exit 1) by itself, and once the helper runs again the next deploy must converge.
// The release is bench/ssh/run.mjs's (release.mjs), made once per file count.
import path from 'node:path';
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { assertTree, cli, requireBuild } from '../lib.mjs';
import { startSshd, sshTargetLines } from './sshd.mjs';
import { sshRelease } from './release.mjs';

requireBuild('bench/ssh');
const args = process.argv.slice(2);
const value = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const FILES = Number(value('--files', '100000'));
const ROUNDS = Number(value('--rounds', '6'));
const SIGNAL = value('--signal', 'SIGKILL');
const LATE = Number(value('--late', '0'));
if (!['SIGKILL', 'SIGTERM'].includes(SIGNAL)) throw new Error(`--signal ${SIGNAL}: SIGKILL or SIGTERM`);

const { base, wt, releaseA, releaseB, switchBoth } = sshRelease(FILES);
const work = path.join(base, 'kills');
rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });
const sshd = await startSshd();
const target = path.join(work, 'target');

/** One `diffship deploy --to <to>`, sent `signal` after `cutAt` ms (if given). */
function deploy(to, cutAt, signal = SIGNAL) {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(process.execPath, [cli, 'deploy', '--to', to, '--repo', wt, '--no-progress'], {
      cwd: work,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    let signalled = null;
    const timer =
      cutAt === undefined ? null : setTimeout(() => ((signalled = Date.now()), child.kill(signal)), cutAt);
    child.on('exit', (code, sig) => {
      clearTimeout(timer);
      const ended = Date.now();
      resolve({ code, sig, ms: ended - started, afterSignal: signalled && ended - signalled, output });
    });
  });
}

/** The pids of the file helpers (perl) sshd's sessions run now. */
function helperPids() {
  const parent = new Map();
  const perl = [];
  for (const name of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      const ppid = /^PPid:\s+(\d+)/m.exec(readFileSync(`/proc/${name}/status`, 'utf8'))?.[1];
      parent.set(Number(name), Number(ppid));
      if (readFileSync(`/proc/${name}/cmdline`, 'utf8').startsWith('perl\0')) perl.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  const underSshd = (pid) => {
    for (let p = pid; p > 1; p = parent.get(p) ?? 0) if (p === sshd.pid) return true;
    return false;
  };
  return perl.filter(underSshd);
}

const must = (ok, what) => {
  if (!ok) throw new Error(what);
};

try {
  const config = (extra = []) =>
    writeFileSync(
      path.join(work, 'diffship.yml'),
      ['waves: [1]', 'targets:', ...sshTargetLines(sshd, target), ...extra, ''].join('\n'),
    );
  config();
  // How long each takes uncut (the cuts land inside that).
  const first = await deploy('A');
  switchBoth('A', 'B');
  const update = await deploy('B');
  switchBoth('B', 'A');
  must(first.code === 0 && update.code === 0, `an uncut deploy failed:\n${first.output}${update.output}`);
  console.log(
    `${FILES} files over SSH: first deploy ${first.ms} ms, update of 100 ${update.ms} ms uncut; ${ROUNDS} rounds of ${SIGNAL}${LATE > 0 ? ` in the last ${Math.round((1 - LATE) * 100)}%` : ''}`,
  );
  for (let round = 0; round < ROUNDS; round++) {
    rmSync(target, { recursive: true, force: true });
    const isFirst = round % 2 === 0;
    if (!isFirst) {
      must((await deploy('A')).code === 0, 'deploying A before the update failed');
      switchBoth('A', 'B');
    }
    const to = isFirst ? 'A' : 'B';
    const span = (isFirst ? first : update).ms;
    const cutAt = Math.floor((LATE + Math.random() * (1 - LATE)) * span);
    const cut = await deploy(to, cutAt);
    const again = await deploy(to);
    if (!isFirst) switchBoth('B', 'A');
    must(again.code === 0, `round ${round}: the deploy after the cut failed:\n${again.output}`);
    assertTree(`round ${round}`, target, isFirst ? releaseA : releaseB);
    if (SIGNAL === 'SIGTERM' && cut.afterSignal !== null)
      must(cut.afterSignal <= 5000, `round ${round}: ended ${cut.afterSignal} ms after SIGTERM (over 5 s)`);
    const how = cut.afterSignal === null ? 'ended before the signal' : `ended ${cut.afterSignal} ms after it`;
    console.log(
      `round ${round}: ${isFirst ? 'first deploy' : 'update'} cut at ${cutAt} ms (${how}, exit ${cut.code ?? cut.sig}); the next deploy converged in ${again.ms} ms, tree exact`,
    );
  }
  if (args.includes('--stall')) {
    rmSync(target, { recursive: true, force: true });
    config(['    reply-timeout: 5s']);
    let ended = false;
    const running = deploy('A').then((r) => ((ended = true), r));
    // Halfway through (as long as it takes uncut), once the helper is there.
    await new Promise((r) => setTimeout(r, Math.max(300, first.ms / 2)));
    let stopped = helperPids();
    while (stopped.length === 0 && !ended) {
      await new Promise((r) => setTimeout(r, 50));
      stopped = helperPids();
    }
    must(!ended, 'the deploy ended before its file helper could be stopped: use more --files');
    for (const pid of stopped) process.kill(pid, 'SIGSTOP');
    const stalled = await running;
    for (const pid of stopped) process.kill(pid, 'SIGCONT');
    must(
      stalled.code === 1,
      `the stalled deploy ended with ${stalled.code ?? stalled.sig}, not 1:\n${stalled.output}`,
    );
    const again = await deploy('A');
    must(again.code === 0, `the deploy after the stall failed:\n${again.output}`);
    assertTree('stall', target, releaseA);
    console.log(
      `stall: the helper stopped halfway, the deploy failed by itself after ${stalled.ms} ms (exit 1); the next deploy converged in ${again.ms} ms, tree exact`,
    );
  }
} finally {
  await sshd.stop();
  rmSync(work, { recursive: true, force: true });
}
