#!/usr/bin/env node
// `npm run mutants`: a mutation run over the safety code. Each mutant plants one small bug
// (a skipped check, a swapped order, an off-by-one, a dropped fsync, an ignored lease …) in
// src/, runs the test files that should catch it, and puts the file back. A mutant is
// "killed" when those tests fail, "survived" when they pass: then a test is missing.
//
//   npm run mutants                      every mutant
//   npm run mutants -- --only lease-,verify-skip
//   npm run mutants -- --list            the mutants, no run
//   npm run mutants -- --no-baseline     skip the first run of the tests without a mutant
//
// Not part of CI (10–20 minutes). Results and how to read them: test/README.md. No dependency beyond vitest.
import { spawnSync, execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { MUTANTS } from './mutants-list.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
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

const runTests = (tests) =>
  spawnSync(process.execPath, [vitest, 'run', '--config', config, '--bail=1', ...tests], {
    cwd: root,
    encoding: 'utf8',
    timeout: 600_000,
    env: { ...process.env, NO_COLOR: '1' },
  });

console.log(`building lib/ once (for tests that run the CLI) …`);
build();
// A kill only means something if the same tests pass without the mutant.
if (!args.includes('--no-baseline')) {
  const files = [...new Set(selected.flatMap((m) => m.tests))];
  console.log(`baseline: ${files.length} test file(s) without any mutant …`);
  const base = runTests(files);
  if (base.status !== 0) {
    console.error(`${base.stdout}${base.stderr}\nthe tests fail without a mutant: fix them first`);
    process.exit(2);
  }
}
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
    const r = runTests(m.tests);
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
