#!/usr/bin/env node
// Benchmark: diffship deploy to an SSH target against `rsync -a -e ssh` doing the
// same transfer, both against one real OpenSSH server started here on 127.0.0.1.
// Run `npm run build` first.
//
//   npx node bench/ssh/run.mjs [--runs 7]   # Node 24, as npm scripts and the Action run
//   npx node bench/ssh/run.mjs --files 20000 # a bigger release (first deploy of 20,000 files;
//                                            # --settle <s>: wait after deleting the last run (35))
//   npx node bench/ssh/run.mjs --slow-rc 200 # every remote shell costs 200 ms (a heavy rc file)
//   npx node bench/ssh/run.mjs --rtt 20      # a far host: 20 ms more per round trip (latency-proxy.mjs)
//   BENCH_VERBOSE=1 node bench/ssh/run.mjs   # also print every run's time
//   npx node bench/ssh/run.mjs --from-repo   # diffship reads every blob from git (default: from a
//                                            # checkout of the release, as a CI job has one)
//
// 1. first deploy: 2,000 files of 4 KiB (or --files) into an empty folder.
// 2. update: 100 of those files changed, into a folder holding the release. diffship's
//    target holds three backups first, as any target deployed a few times does (two untimed
//    deploys after the first: B, then A again), so the update prunes the oldest, as it would
//    there; `--fresh` skips them (the update then finds one backup and prunes nothing).
// 2b. the same release again (B into B: nothing to change), no target of its own: what each
//    tool costs before it has any work (start, connect, look), beside the update's ratio.
// Targets: ≤ 1.0× rsync, also with --slow-rc 200. Then one more of each, untimed, for the peak
// RSS (VmHWM) of diffship's node process (target < 150 MiB).
//
// --slow-rc MS: the login user's ~/.bashrc sleeps MS, so every remote shell
// (each exec, and the SFTP subsystem, which sshd starts through the user's
// shell) pays it; rsync starts one. The bench checks that `ssh host true`
// really got slower.
//
// --rtt MS: every connection (diffship's, rsync's ssh, the sync) goes through a proxy
// that delays each direction by MS/2 (latency-proxy.mjs), as a host a WAN away: what
// counts there is how many times a tool waits for an answer, not its CPU.
//
// Two anchors: rsync alone, and rsync followed by `ssh host sync -f <target>`
// (diffship makes its files durable before it commits; rsync does not fsync at
// all, so "rsync + sync" is the same job, durable). The second is the rsync
// time plus a timed `ssh … sync -f` right after it.
// 3. big file: one 200 MiB file (random bytes) into an empty folder, against `scp`
//    (OpenSSH's, SFTP protocol) and against scp followed by `ssh host sync` (diffship
//    makes its files durable, scp does not). Peak RSS (VmHWM) of diffship's node process,
//    of its git cat-file (the repository packed) and of scp. Targets: ≤ 1.2× scp, RSS < 150 MiB.
//    `--only big` runs just this case (`--only small`: just 1 and 2); `--big-mib N` another size.
// 3b. `--only bigupdate` (not run otherwise): that file replaced by another of the same size,
//    into a folder holding the first, against `rsync -a -e ssh` (its delta transfer reads the
//    old file on the host) and `scp`. diffship checks the old file for drift by its stat
//    (the manifest's stat cache), so it reads none of it.
// 4. `--only auth` (not run otherwise): authoritative mode, 20 changes and 20 strays into a
//    20,000-file target (`--auth-files N`, `--auth-strays N`) against `rsync -a --delete -e ssh`; `--before <dir>`
//    also times another build of diffship in the same rounds. See bench/ssh/auth.mjs.
//
// rsync copies from a checkout (what a CI job has on disk), switched from A to B
// the way `git checkout` does it, so only the changed files get a new mtime, and
// authenticates with the OpenSSH client (same key, known_hosts checked);
// diffship reads the blobs from the repository and connects with ssh2. Both
// times are whole commands (process start, connect, transfer, exit). Runs
// alternate between the two tools (which goes first alternates too); every
// round starts from new empty folders (deleting the last round's trees between
// timed runs slowed both tools down run after run on this machine's disk); dirty
// pages are flushed (sync) before each timed run. diffship makes its files
// durable (syncfs) before it commits; rsync does not fsync at all. After every
// timed run the target is compared file by file with the release, so a side
// that did less than the whole job stops the benchmark.
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import {
  assertTree,
  checkout,
  cli,
  fastImportRepo,
  median,
  ratio,
  requireBuild,
  run,
  timeOnce,
  treeDigest,
} from '../lib.mjs';
import { startSshd, sshTargetLines, viaLatency } from './sshd.mjs';
import { CHANGED, sshRelease } from './release.mjs';
import { authCase } from './auth.mjs';

requireBuild('bench/ssh');
const args = process.argv.slice(2);
const option = (name, fallback) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : fallback);
const runs = option('--runs', 7);
const FILES = option('--files', 2_000);
const slowRcMs = option('--slow-rc', 0);
const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : null;
const BIG_MIB = option('--big-mib', 200);
// diffship deploys from a checkout of the release, as a CI job does (rsync copies `co`, one too):
// a linked worktree of the repository, switched with `co`. --from-repo: from the repository
// alone (no checkout: every blob read by git).
const fromRepo = args.includes('--from-repo');
const fresh = args.includes('--fresh');
const { base, repo, co, wt, releaseA, releaseB, switchBoth } = sshRelease(FILES, { fromRepo });
const rttMs = option('--rtt', 0);
const sshd = await viaLatency(await startSshd({ slowRcMs }), rttMs);
const work = path.join(base, 'work');
const ssh = (...command) => ['ssh', [...sshd.sshArgs, `${sshd.user}@127.0.0.1`, ...command]];
try {
  if (slowRcMs > 0) {
    // The slow rc must really slow every remote shell down, or the variant measures nothing.
    const shell = timeOnce(...ssh('true'));
    if (shell < slowRcMs)
      throw new Error(`--slow-rc ${slowRcMs}: \`ssh host true\` took only ${shell.toFixed(0)} ms`);
  }
  const hadWork = existsSync(work);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  // ext4 skips inodes freed in the last ~30 s while it looks for a free one: the first timed
  // runs after deleting the last run's targets (tens of thousands of files) paid for that
  // cleanup (bench/deploy/first.mjs's --settle). Skipped for the 2,000-file runs.
  const settle = option('--settle', FILES >= 20_000 && hadWork ? 35 : 0);
  if (settle > 0) {
    run('sync', []);
    run('sleep', [String(settle)]);
  }
  // Every round gets new, empty target folders (deleting 2,000-file trees between timed runs
  // made both tools slower run after run on this machine's disk).
  let dsTarget;
  let rsyncTarget;
  const newTargets = (round) => {
    dsTarget = path.join(work, `diffship-target-${round}`);
    rsyncTarget = path.join(work, `rsync-target-${round}`);
    newTargetAt(dsTarget);
  };
  /** diffship.yml with one SSH target at `dir`. */
  const newTargetAt = (dir) => {
    writeFileSync(
      path.join(work, 'diffship.yml'),
      ['waves: [1]', 'targets:', ...sshTargetLines(sshd, dir), ''].join('\n'),
    );
  };
  const ds = (...argv) => [
    process.execPath,
    [cli, ...argv, ...(argv.includes('--repo') ? [] : ['--repo', fromRepo ? repo : wt]), '--no-progress'],
    { cwd: work },
  ];
  /** `rsync -a -e ssh` of the folder `from` into `target` on the host (default: the small cases'). */
  const rsync = (from = co, target = rsyncTarget) => [
    'rsync',
    ['-a', '-e', `ssh ${sshd.sshArgs.join(' ')}`, `${from}/`, `${sshd.user}@127.0.0.1:${target}/`],
  ];

  if (only === 'auth') {
    const before = args.includes('--before') ? path.resolve(args[args.indexOf('--before') + 1]) : null;
    authCase({
      sshd,
      work,
      runs,
      files: option('--auth-files', 20_000),
      before,
      strays: option('--auth-strays', 20),
    });
  } else if (only === 'bigupdate') bigUpdate();
  else {
    if (only !== 'big') await smallCases();
    if (only !== 'small') await bigFile();
  }

  async function smallCases() {
    // Warm-up: one of each (page cache of the repository, the CLI's compile cache, sshd's first fork).
    newTargets('warm-up');
    run(...rsync());
    run(...ds('deploy', '--to', 'A'));

    const first = { diffship: [], rsync: [], sync: [] };
    const update = { diffship: [], rsync: [], sync: [] };
    // The same release again, nothing to change: each tool's fixed cost (start, connect, look).
    const again = { diffship: [], rsync: [] };
    // rsync, then (untimed for "rsync", timed for "rsync + sync") making its files durable on the host.
    // Untimed: diffship's target at A again with three backups (the first deploy's, B's, A's).
    const history = () => {
      if (fresh) return;
      run(...ds('deploy', '--to', 'B'));
      run(...ds('deploy', '--to', 'A'));
      assertTree('history, back at A', dsTarget, releaseA);
      const backups = readdirSync(path.join(dsTarget, '.diffship/backups'));
      if (backups.length !== 3) throw new Error(`history: ${backups.length} backups, not 3`);
    };
    const rsyncThenSync = (into) => {
      into.rsync.push(timeOnce(...rsync()));
      into.sync.push(timeOnce(...ssh('sync', '-f', rsyncTarget)));
    };
    for (let r = 0; r < runs; r++) {
      // First deploy, alternating which tool goes first.
      newTargets(r);
      const order = r % 2 === 0 ? ['rsync', 'diffship'] : ['diffship', 'rsync'];
      for (const tool of order) {
        run('sync', []);
        if (tool === 'rsync') rsyncThenSync(first);
        else first.diffship.push(timeOnce(...ds('deploy', '--to', 'A')));
        assertTree(`first deploy, ${tool}`, tool === 'rsync' ? rsyncTarget : dsTarget, releaseA);
        if (tool === 'diffship') history();
      }
      // Update of 100 files: both targets hold A (they do now), then ship B.
      switchBoth('A', 'B');
      for (const tool of order) {
        run('sync', []);
        if (tool === 'rsync') rsyncThenSync(update);
        else update.diffship.push(timeOnce(...ds('deploy', '--to', 'B')));
        assertTree(`update, ${tool}`, tool === 'rsync' ? rsyncTarget : dsTarget, releaseB);
      }
      for (const tool of order) {
        if (tool === 'rsync') again.rsync.push(timeOnce(...rsync()));
        else again.diffship.push(timeOnce(...ds('deploy', '--to', 'B')));
        assertTree(`B again, ${tool}`, tool === 'rsync' ? rsyncTarget : dsTarget, releaseB);
      }
      switchBoth('B', 'A');
    }

    // Peak RSS (VmHWM) of diffship's node process: one more first deploy and update, untimed (the
    // timed runs are not polled: polling /proc every 10 ms costs the run being timed a little).
    newTargets('rss');
    run('sync', []);
    const firstRss = (await timeRss(...ds('deploy', '--to', 'A'))).rss;
    assertTree('first deploy (RSS run)', dsTarget, releaseA);
    history();
    switchBoth('A', 'B');
    const updateRss = (await timeRss(...ds('deploy', '--to', 'B'))).rss;
    assertTree('update (RSS run)', dsTarget, releaseB);
    switchBoth('B', 'A');

    if (process.env.BENCH_VERBOSE) console.log(JSON.stringify({ first, update, again }));
    const fmt = (xs) => `${median(xs).toFixed(0)} ms`;
    const spread = (xs) => `${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)}`;
    const load = os.loadavg()[0].toFixed(2);
    const line = (label, c) => {
      const durable = c.rsync.map((t, i) => t + c.sync[i]);
      return `${label}: diffship ${fmt(c.diffship)} [${spread(c.diffship)}], rsync -a -e ssh ${fmt(c.rsync)} [${spread(c.rsync)}], ratio ${ratio(median(c.diffship), median(c.rsync))}×; rsync + ssh sync ${fmt(durable)}, ratio ${ratio(median(c.diffship), median(durable))}× (goal ≤ 1.0×)`;
    };
    console.log(
      [
        `ssh benchmark — against one OpenSSH sshd on 127.0.0.1${slowRcMs > 0 ? `, every remote shell +${slowRcMs} ms` : ''}${rttMs > 0 ? `, ${rttMs} ms round trip` : ''}${settle > 0 ? `, ${settle} s of settling after deleting the last run's targets` : ''}, ${runs} runs each, median wall time (${os.cpus().length} cores, load ${load}, node ${process.version})`,
        line(`first deploy (${FILES} files of 4 KiB)`, first),
        line(`update (${CHANGED} changed files${fresh ? '' : ', 3 backups on the target'})`, update),
        `the same release again, nothing to change (each tool's fixed cost: start, connect, look): diffship ${fmt(again.diffship)} [${spread(again.diffship)}], rsync -a -e ssh ${fmt(again.rsync)} [${spread(again.rsync)}], ratio ${ratio(median(again.diffship), median(again.rsync))}×`,
        `peak RSS of diffship's node process (one more run of each, untimed): first deploy ${(firstRss / 1024).toFixed(0)} MiB, update ${(updateRss / 1024).toFixed(0)} MiB (target < 150 MiB)`,
      ].join('\n'),
    );
  }

  async function bigFile() {
    const bigRepo = path.join(os.tmpdir(), `diffship-bench-ssh-big-${BIG_MIB}-v1`);
    if (!existsSync(path.join(bigRepo, '.git', 'diffship-bench-ready')))
      fastImportRepo(bigRepo, [{ tag: 'A', files: new Map([['data/big.bin', randomBytes(BIG_MIB << 20)]]) }]);
    // Packed, as a clone or fetch of a repository of 100 objects or more leaves it (fast-import
    // leaves so few objects loose; git maps a loose object whole, so its cat-file's RSS then
    // holds the 200 MiB file's pages: bench/README.md).
    spawnSync('git', ['-C', bigRepo, 'repack', '-adq'], { stdio: 'inherit' });
    const bigCo = path.join(base, 'big-checkout');
    checkout(bigRepo, 'A', bigCo);
    const release = treeDigest(bigCo);
    const scpArgs = sshd.sshArgs.map((a) => (a === '-p' ? '-P' : a));
    const times = { diffship: [], scp: [], scpSync: [] };
    const rss = { diffship: [], scp: [], git: [], gitAnon: [] };
    const tools = ['diffship', 'scp', 'scpSync'];
    for (let r = -1; r < runs; r++) {
      const order = tools.map((_, i) => tools[(i + Math.max(r, 0)) % tools.length]);
      for (const tool of order) {
        const target = path.join(work, `big-${tool}-${r}`);
        mkdirSync(path.join(target, 'data'), { recursive: true });
        run('sync', []);
        let t;
        if (tool === 'diffship') {
          newTargetAt(target);
          t = await timeRss(...ds('deploy', '--to', 'A', '--repo', bigRepo));
        } else {
          const dest = `${sshd.user}@127.0.0.1:${target}/data/big.bin`;
          t = await timeRss('scp', ['-q', ...scpArgs, path.join(bigCo, 'data/big.bin'), dest]);
          if (tool === 'scpSync') {
            const synced = await timeRss('ssh', [...sshd.sshArgs, `${sshd.user}@127.0.0.1`, 'sync']);
            t = { ms: t.ms + synced.ms, rss: t.rss };
          }
        }
        assertTree(`big file, ${tool}`, target, release);
        rmSync(target, { recursive: true, force: true });
        if (r < 0) continue; // warm-up
        times[tool].push(t.ms);
        if (tool !== 'scpSync') rss[tool].push(t.rss);
        if (tool === 'diffship') {
          rss.git.push(t.children.hwm);
          rss.gitAnon.push(t.children.anon);
        }
      }
    }
    if (process.env.BENCH_VERBOSE) console.log(JSON.stringify({ times, rss }));
    const ms = (xs) =>
      `${median(xs).toFixed(0)} ms [${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)}]`;
    const mib = (xs) => `${(Math.max(...xs) / 1024).toFixed(0)} MiB`;
    console.log(
      [
        `big file (${BIG_MIB} MiB), ${runs} runs each, median wall time (load ${os.loadavg()[0].toFixed(2)}):`,
        `  diffship ${ms(times.diffship)}, peak RSS of its node process ${mib(rss.diffship)}; of its git cat-file ${mib(rss.git)} (anonymous memory ${mib(rss.gitAnon)}, the rest git's map of the object file)`,
        `  scp      ${ms(times.scp)}, peak RSS ${mib(rss.scp)}; ratio ${ratio(median(times.diffship), median(times.scp))}× (target ≤ 1.2×)`,
        `  scp + ssh sync ${ms(times.scpSync)}; ratio ${ratio(median(times.diffship), median(times.scpSync))}×`,
      ].join('\n'),
    );
  }

  function bigUpdate() {
    const bigRepo = path.join(os.tmpdir(), `diffship-bench-ssh-bigupd-${BIG_MIB}-v1`);
    if (!existsSync(path.join(bigRepo, '.git', 'diffship-bench-ready')))
      fastImportRepo(bigRepo, [
        {
          tag: 'A',
          files: new Map([
            ['data/big.bin', randomBytes(BIG_MIB << 20)],
            ['data/note.txt', Buffer.from('a\n')],
          ]),
        },
        { tag: 'B', files: new Map([['data/big.bin', randomBytes(BIG_MIB << 20)]]) },
      ]);
    const coA = path.join(base, 'bigupd-A');
    const coB = path.join(base, 'bigupd-B');
    checkout(bigRepo, 'A', coA);
    checkout(bigRepo, 'B', coB);
    // A was checked out an hour before B (rsync's quick check compares size and mtime: both
    // checked out in one second, the same-sized file would look unchanged and not be sent).
    const hourAgo = Date.now() / 1000 - 3600;
    for (const f of ['data/big.bin', 'data/note.txt']) utimesSync(path.join(coA, f), hourAgo, hourAgo);
    const releaseB = treeDigest(coB);
    const scpArgs = sshd.sshArgs.map((a) => (a === '-p' ? '-P' : a));
    const tools = ['diffship', 'rsync', 'scp'];
    const times = { diffship: [], rsync: [], scp: [] };
    for (let r = -1; r < runs; r++) {
      const order = tools.map((_, i) => tools[(i + Math.max(r, 0)) % tools.length]);
      for (const tool of order) {
        const target = path.join(work, `bigupd-${tool}-${r}`);
        mkdirSync(target, { recursive: true });
        // The target holds release A (put there untimed, by the tool itself where it can).
        if (tool === 'diffship') {
          newTargetAt(target);
          run(...ds('deploy', '--to', 'A', '--repo', bigRepo));
        } else run(...rsync(coA, target));
        run('sync', []);
        let ms;
        if (tool === 'diffship') ms = timeOnce(...ds('deploy', '--to', 'B', '--repo', bigRepo));
        else if (tool === 'rsync') ms = timeOnce(...rsync(coB, target));
        else
          ms = timeOnce('scp', [
            '-q',
            ...scpArgs,
            path.join(coB, 'data/big.bin'),
            `${sshd.user}@127.0.0.1:${target}/data/big.bin`,
          ]);
        assertTree(`big file update, ${tool}`, target, releaseB);
        rmSync(target, { recursive: true, force: true });
        if (r >= 0) times[tool].push(ms);
      }
    }
    if (process.env.BENCH_VERBOSE) console.log(JSON.stringify(times));
    const ms = (xs) =>
      `${median(xs).toFixed(0)} ms [${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)}]`;
    console.log(
      [
        `big file update (${BIG_MIB} MiB replaced), ${runs} runs each, median wall time (load ${os.loadavg()[0].toFixed(2)}):`,
        `  diffship ${ms(times.diffship)}`,
        `  rsync -a -e ssh ${ms(times.rsync)}; ratio ${ratio(median(times.diffship), median(times.rsync))}×`,
        `  scp ${ms(times.scp)}; ratio ${ratio(median(times.diffship), median(times.scp))}×`,
      ].join('\n'),
    );
  }

  /**
   * Wall time, and peak RSS in KiB (VmHWM, polled from /proc) of the command's own process and
   * of its children (for diffship: git cat-file; RssAnon too, since git maps the object file).
   */
  function timeRss(cmd, argv, options = {}) {
    const start = process.hrtime.bigint();
    const child = spawn(cmd, argv, { stdio: ['ignore', 'ignore', 'pipe'], ...options });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const peak = { self: 0, hwm: 0, anon: 0 };
    const field = (text, name) => Number(new RegExp(`${name}:\\s+(\\d+)`).exec(text)?.[1] ?? 0);
    const status = (pid) => {
      try {
        return readFileSync(`/proc/${pid}/status`, 'utf8');
      } catch {
        return '';
      }
    };
    const poll = () => {
      peak.self = Math.max(peak.self, field(status(child.pid), 'VmHWM'));
      let kids = '';
      try {
        kids = readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8');
      } catch {
        return; // ended meanwhile
      }
      for (const pid of kids.trim().split(/\s+/).filter(Boolean)) {
        const text = status(pid);
        peak.hwm = Math.max(peak.hwm, field(text, 'VmHWM'));
        peak.anon = Math.max(peak.anon, field(text, 'RssAnon'));
      }
    };
    const timer = setInterval(poll, 10);
    return new Promise((resolve, reject) => {
      child.on('close', (code) => {
        clearInterval(timer);
        const ms = Number(process.hrtime.bigint() - start) / 1e6;
        if (code !== 0) return reject(new Error(`${cmd} ${argv.join(' ')} failed (${code}): ${stderr}`));
        resolve({ ms, rss: peak.self, children: { hwm: peak.hwm, anon: peak.anon } });
      });
    });
  }
} finally {
  await sshd.stop();
  rmSync(work, { recursive: true, force: true });
}
