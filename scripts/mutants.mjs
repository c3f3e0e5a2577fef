#!/usr/bin/env node
// `npm run mutants`: a mutation run over the safety code. Each mutant plants one small bug
// (a skipped check, a swapped order, an off-by-one, a dropped fsync, an ignored lease …) in
// src/, runs the test files that should catch it, and puts the file back. A mutant is
// "killed" when those tests fail, "survived" when they pass: then a test is missing.
//
//   npm run mutants                      every mutant
//   npm run mutants -- --only lease-,verify-skip
//   npm run mutants -- --list            the mutants, no run
//
// Not part of CI (a few minutes). Results: test/README.md. No dependency beyond vitest.
import { spawnSync, execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const FAULTS = 'test/apply/faults.test.ts';
const ENGINE = 'test/apply/engine.test.ts';
const LOCAL = 'test/transport/local/local-transport.test.ts';

/**
 * `from` must occur exactly once in `file`; it becomes `to`. `build`: the tests run the
 * built CLI or lib/, so lib/ is rebuilt with the mutant first.
 */
const MUTANTS = [
  // ── apply: stage → verify → backup → sync → journal → rename → state ──
  {
    id: 'verify-skip',
    file: 'src/apply/session.ts',
    from: 'if (got !== w.blob) {',
    to: 'if (false && got !== w.blob) {',
    tests: [FAULTS],
    why: 'the staged blob-id check is skipped',
  },
  {
    id: 'sync-dropped',
    file: 'src/apply/session.ts',
    from: '    await t.syncWritten();\n    await writeJournal(',
    to: '    await writeJournal(',
    tests: [FAULTS],
    why: 'no durable sync before the journal',
  },
  {
    id: 'sync-after-journal',
    file: 'src/apply/session.ts',
    from: "    await t.syncWritten();\n    await writeJournal(t, l, {\n      version: 1,\n      kind: 'deploy',\n      phase: 'commit',\n      deployId: this.deployId,\n      backupId: this.deployId,\n      newState,\n    });",
    to: "    await writeJournal(t, l, {\n      version: 1,\n      kind: 'deploy',\n      phase: 'commit',\n      deployId: this.deployId,\n      backupId: this.deployId,\n      newState,\n    });\n    await t.syncWritten();",
    tests: [FAULTS],
    why: 'the sync comes after the journal',
  },
  {
    id: 'staging-left',
    file: 'src/apply/session.ts',
    from: '      await this.dropLeftovers(error);',
    to: '',
    tests: [FAULTS],
    why: 'a failed deploy leaves its staging',
  },
  {
    id: 'prune-never',
    file: 'src/apply/session.ts',
    from: '      await pruneBackups(t, l, KEEP_BACKUPS);',
    to: '',
    tests: [FAULTS],
    why: 'backups are never pruned',
  },
  {
    id: 'prune-off-by-one',
    file: 'src/apply/backup.ts',
    from: 'complete.slice(0, keep)',
    to: 'complete.slice(0, keep + 1)',
    tests: [FAULTS],
    why: 'one backup too many is kept',
  },
  {
    id: 'keep-backups-2',
    file: 'src/apply/session.ts',
    from: 'export const KEEP_BACKUPS = 3;',
    to: 'export const KEEP_BACKUPS = 2;',
    tests: [FAULTS],
    why: 'keeps 2 backups, not 3',
  },
  {
    id: 'parent-symlink-ignored',
    file: 'src/apply/safe-path.ts',
    from: 'const type = entry?.type ?? null;',
    to: "const type = entry?.type === 'symlink' ? 'dir' : (entry?.type ?? null);",
    tests: [ENGINE],
    why: 'a symlinked parent folder is taken for a folder and written through',
  },
  {
    id: 'folder-in-the-way-ignored',
    file: 'src/apply/session.ts',
    from: 'if (plan.observedDirs?.includes(w.path) && !deleting.has(w.path)) {',
    to: 'if (false) {',
    tests: [FAULTS],
    why: 'a folder standing where a file goes is not refused',
  },
  {
    id: 'recover-never-undoes',
    file: 'src/apply/journal.ts',
    from: "if (j.kind === 'deploy' && state?.deployId === j.deployId) {",
    to: "if (j.kind === 'deploy') {",
    tests: [ENGINE, FAULTS],
    why: 'recovery treats an unfinished deploy as finished',
  },
  {
    id: 'recorded-state-ignored',
    file: 'src/apply/session.ts',
    from: '      if (!recorded) recorded = await this.stateIsOurs();\n',
    to: '      recorded = false;\n',
    tests: [FAULTS],
    why: 'a deploy whose state is written is undone/reported failed when a later step fails',
  },
  // ── the lock and its lease ──
  {
    id: 'lease-expiry-ignored',
    file: 'src/apply/lock.ts',
    from: 'if (Date.parse(info.leaseUntil) < now) return',
    to: 'if (false) return',
    tests: [FAULTS],
    why: 'an expired lease is never taken over',
  },
  {
    id: 'lease-host-ignored',
    file: 'src/apply/lock.ts',
    from: 'if (info.host === here && !processAlive(info.pid))',
    to: 'if (!processAlive(info.pid))',
    tests: [FAULTS],
    why: "a holder on another machine is judged by this machine's pids",
  },
  {
    id: 'lease-never-renewed',
    file: 'src/apply/lock.ts',
    from: '}, timing.renewMs);',
    to: '}, timing.renewMs * 1_000_000);',
    tests: [FAULTS],
    why: 'the lease is never renewed',
  },
  {
    id: 'lease-renewal-clobbers',
    file: 'src/apply/lock.ts',
    from: 'if (found?.info?.deployId !== info.deployId) {',
    to: 'if (false) {',
    tests: [FAULTS],
    why: 'renewal overwrites a lock someone else took over',
  },
  {
    id: 'release-unlinks-any',
    file: 'src/apply/lock.ts',
    from: 'if (holder?.deployId === info.deployId) await t.unlink(l.lock);',
    to: 'await t.unlink(l.lock);',
    tests: [FAULTS],
    why: "closing removes another deploy's lock",
  },
  {
    id: 'unreadable-lock-blocks',
    file: 'src/apply/lock.ts',
    from: 'const stale = found.info === null ? unreadableReason(found.raw) : staleReason(found.info);',
    to: 'const stale = found.info === null ? null : staleReason(found.info);',
    tests: [FAULTS],
    why: 'an empty lock file blocks the target for good',
  },
  {
    id: 'lock-published-by-rename',
    file: 'src/transport/local/local-transport.ts',
    from: 'fsSync.linkSync(tmp, p);',
    to: 'fsSync.renameSync(tmp, p);',
    tests: [LOCAL],
    why: 'the lock is published by a rename that clobbers an existing lock',
  },
  // ── transports ──
  {
    id: 'local-sync-noop',
    file: 'src/transport/local/local-transport.ts',
    from: 'if (this.unsynced.size === 0) return;',
    to: 'return;',
    tests: ['test/transport/local/sync-durable.test.ts'],
    build: true,
    why: 'syncWritten does nothing',
  },
  {
    id: 'local-syncfs-fake',
    file: 'src/transport/local/local-transport.ts',
    from: 'runLocal(`sync -f ${shellQuote(this.base)}`',
    to: 'runLocal(`true ${shellQuote(this.base)}`',
    tests: ['test/transport/local/sync-durable.test.ts'],
    build: true,
    why: 'the syncfs of many files is skipped',
  },
  {
    id: 'local-fsync-dropped',
    file: 'src/transport/local/local-transport.ts',
    from: 'if (options.sync !== false) fsSync.fsyncSync(fd);',
    to: '',
    tests: ['test/transport/local/sync-durable.test.ts', FAULTS],
    build: true,
    why: 'a synced write (journal, state) is not fsynced',
  },
  {
    id: 'dotdot-allowed',
    file: 'src/transport/rel-path.ts',
    from: "if (segment === '..') throw",
    to: 'if (false) throw',
    tests: ['test/transport/rel-path.test.ts', LOCAL],
    why: "'..' path segments are accepted",
  },
  {
    id: 'absolute-allowed',
    file: 'src/transport/rel-path.ts',
    from: "if (rel.startsWith('/'))",
    to: 'if (false)',
    tests: ['test/transport/rel-path.test.ts', LOCAL],
    why: 'absolute paths are accepted',
  },
  {
    id: 'ssh-lock-temp-left',
    file: 'src/transport/ssh/file-ops.ts',
    from: '      await this.unlink(tmp).catch(() => undefined);',
    to: '',
    tests: ['test/apply/ssh-faults.test.ts'],
    why: 'the temporary lock file of an ssh target is left behind',
  },
  {
    id: 'sftp-drop-as-subsystem',
    file: 'src/transport/ssh/errors.ts',
    from: 'if (dropped || /No response',
    to: 'if (/No response',
    tests: ['test/apply/ssh-first-steps.test.ts'],
    why: 'a dropped connection is reported as a missing SFTP subsystem',
  },
  // ── plan ──
  {
    id: 'max-deletes-off-by-one',
    file: 'src/plan/plan.ts',
    from: 'finalDeletes.length > input.maxDeletes',
    to: 'finalDeletes.length > input.maxDeletes + 1',
    tests: ['test/plan/plan.test.ts', ENGINE],
    why: 'max-deletes lets one more delete through',
  },
  {
    id: 'drift-unseen',
    file: 'src/plan/plan.ts',
    from: 'if (!matches) drift.push({ path, expected, actual: obs.blob });',
    to: '',
    tests: ['test/plan/plan.test.ts', ENGINE],
    why: 'a file changed by hand is overwritten without drift',
  },
  {
    id: 'protect-ignored-for-strays',
    file: 'src/plan/plan.ts',
    from: '        if (isProtected(path)) continue;',
    to: '',
    tests: ['test/plan/plan.test.ts'],
    why: 'authoritative mode deletes protected strays',
  },
  {
    id: 'outside-link-dotdot',
    file: 'src/plan/outside-links.ts',
    from: "return resolved === '..' || resolved.startsWith('../');",
    to: "return resolved.startsWith('../');",
    tests: ['test/cli/symlinks.test.ts'],
    build: true,
    why: 'a link to exactly the parent of the release is not seen as leaving it',
  },
  {
    id: 'refuse-outside-ignored',
    file: 'src/plan/outside-links.ts',
    from: "if (links.length === 0 || policy !== 'refuse-outside') return;",
    to: 'return;',
    tests: ['test/cli/symlinks.test.ts'],
    build: true,
    why: 'symlinks: refuse-outside lets the release through',
  },
  // ── rollout ──
  {
    id: 'max-failures-off-by-one',
    file: 'src/rollout/waves.ts',
    from: 'return failed > maxFailures.count;',
    to: 'return failed > maxFailures.count + 1;',
    tests: ['test/rollout/waves.test.ts'],
    why: 'one failure more than max-failures is tolerated',
  },
  {
    id: 'no-rollback-on-failure',
    file: 'src/rollout/run-target.ts',
    from: "if (!ok && this.changed && ctx.config.rollback !== 'none') {",
    to: 'if (false) {',
    tests: ['test/rollout/e2e-failures.test.ts'],
    build: true,
    why: 'a failed target is not rolled back',
  },
  {
    id: 'after-skipped',
    file: 'src/rollout/run-target.ts',
    from: "      await this.hook('after', target.hooks.after, cleanup);\n      return this.finish(status);",
    to: '      return this.finish(status);',
    tests: ['test/rollout/e2e-failures.test.ts'],
    build: true,
    why: '`after` does not run after a failure (a drained host stays drained)',
  },
];

const args = process.argv.slice(2);
const onlyArg = args.includes('--only') ? args[args.indexOf('--only') + 1] : undefined;
const only = onlyArg?.split(',').filter(Boolean);
const selected = only ? MUTANTS.filter((m) => only.some((o) => m.id.startsWith(o))) : MUTANTS;

if (args.includes('--list')) {
  for (const m of MUTANTS) console.log(`${m.id.padEnd(28)} ${m.file}: ${m.why}`);
  process.exit(0);
}

const vitest = `${root}node_modules/vitest/vitest.mjs`;
const config = `${root}scripts/mutants.vitest.config.mjs`;
const build = () =>
  execFileSync(process.execPath, [`${root}scripts/build.mjs`], { cwd: root, stdio: 'ignore' });

let restore = null;
const putBack = () => {
  if (restore) restore();
  restore = null;
};
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    putBack();
    process.exit(130);
  });
}

console.log(`building lib/ once (for tests that run the CLI) …`);
build();
const results = [];
let libDirty = false;
for (const m of selected) {
  const path = `${root}${m.file}`;
  const original = readFileSync(path, 'utf8');
  const count = original.split(m.from).length - 1;
  if (count !== 1) {
    results.push({ ...m, verdict: 'stale', seconds: 0, note: `found ${count} times` });
    console.log(`?? ${m.id}: the text to mutate occurs ${count} times in ${m.file} — update the mutant`);
    continue;
  }
  const t0 = Date.now();
  restore = () => writeFileSync(path, original);
  let verdict;
  try {
    writeFileSync(path, original.replace(m.from, m.to));
    if (m.build) {
      build();
      libDirty = true;
    }
    const r = spawnSync(process.execPath, [vitest, 'run', '--config', config, '--bail=1', ...m.tests], {
      cwd: root,
      encoding: 'utf8',
      timeout: 600_000,
      env: { ...process.env, NO_COLOR: '1' },
    });
    verdict = r.status === 0 ? 'survived' : 'killed';
  } finally {
    putBack();
  }
  const seconds = Math.round((Date.now() - t0) / 1000);
  results.push({ ...m, verdict, seconds });
  console.log(`${verdict === 'killed' ? 'killed  ' : 'SURVIVED'} ${m.id} (${seconds}s) — ${m.why}`);
}
if (libDirty) build();

const killed = results.filter((r) => r.verdict === 'killed').length;
const counted = results.filter((r) => r.verdict !== 'stale').length;
console.log(`\n${killed}/${counted} mutants killed (${counted ? Math.round((killed * 100) / counted) : 0}%)`);
const survivors = results.filter((r) => r.verdict === 'survived');
if (survivors.length) console.log(`survived: ${survivors.map((r) => r.id).join(', ')}`);
if (args.includes('--markdown')) {
  console.log('\n| mutant | file | planted bug | result |\n| --- | --- | --- | --- |');
  for (const r of results) console.log(`| \`${r.id}\` | ${r.file} | ${r.why} | ${r.verdict} |`);
}
process.exitCode = survivors.length > 0 || results.some((r) => r.verdict === 'stale') ? 1 : 0;
