#!/usr/bin/env node
// Benchmark: `diffship diff --json` against `git diff-tree -r -z -M --raw` on the
// same pair of releases (50,000 files; ~7,000 changes; or 500,000 files and
// 70,000 changes with --files 500000), with floor.mjs (the least any Node CLI can
// do for the same answer) as a third row, and the library's `diffReleases` timed
// in one warm Node process against the same git command spawned from it. Run
// `npm run build` first.
//
//   node bench/diff/run.mjs [--runs 5] [--files 50000|500000] [--rebuild]
//
// The repository is built once per size with `git fast-import` and cached in the
// OS temp folder. Commands run alternately (git, diffship, git, …) after one warm-up
// each, so caches and CPU frequency treat both alike. Wall time is the median.
// Each run goes through GNU time (when /usr/bin/time exists) for CPU time
// (user + system, children included) and peak memory: the largest maximum
// resident set size (%M) over the runs. For diffship that is the largest single
// process of a run (node, or one of its git children), not a sum.
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const VERSION = 1; // bump when the generated repository changes

const args = process.argv.slice(2);
const option = (name) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const runs = Number(option('--runs')) || 5;
const rebuild = args.includes('--rebuild');
const FILES = Number(option('--files')) || 50_000;
if (FILES !== 50_000 && FILES !== 500_000) {
  console.error('bench/diff: --files takes 50000 or 500000');
  process.exit(2);
}
// 14% of the files change, in the same proportions at both sizes.
const scale = FILES / 50_000;
const CHANGES = Object.fromEntries(
  Object.entries({
    modified: 3_000,
    deleted: 1_500,
    added: 1_500,
    renamedExact: 500,
    renamedEdited: 500,
  }).map(([kind, n]) => [kind, n * scale]),
);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const cli = path.join(root, 'bin/diffship.js');
// The 50k repository keeps its historical name, so a cached one is reused.
const repo = path.join(os.tmpdir(), `diffship-bench-diff-v${VERSION}${scale === 1 ? '' : `-${FILES}`}`);

if (!existsSync(path.join(root, 'lib/bundle/main.js'))) {
  console.error('bench/diff: run `npm run build` first (lib/bundle/main.js is missing)');
  process.exit(2);
}

// Deterministic pseudo-random numbers, so every machine builds the same repository.
let seed = 42;
const rand = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;

/** A file's path and text: ~600 bytes of XML-ish lines unique to the file. */
const DIGITS = String(FILES * 2).length - 1;
const pathOf = (i) =>
  `workflows/team-${String(i % (250 * scale)).padStart(3, '0')}/flow-${String(i).padStart(DIGITS, '0')}.xml`;
function contentOf(i, edit = 0) {
  const lines = [`<workflow id="${i}">`];
  for (let l = 0; l < 12; l++)
    lines.push(`  <step n="${l}" action="act-${(i * 31 + l * 7) % 9973}" retry="${l % 3}"/>`);
  if (edit) lines.push(`  <note rev="${edit}">changed in release B</note>`);
  lines.push('</workflow>', '');
  return Buffer.from(lines.join('\n'));
}

function buildRepo() {
  rmSync(repo, { recursive: true, force: true });
  mkdirSync(repo, { recursive: true });
  git(['init', '-q', '-b', 'main']);
  // The fast-import stream goes to a file first: at 500k files it is ~400 MB.
  const streamFile = path.join(repo, '.git', 'bench-import.stream');
  const fd = openSync(streamFile, 'w');
  let pending = [];
  let size = 0;
  const flush = () => {
    writeSync(fd, Buffer.concat(pending));
    pending = [];
    size = 0;
  };
  const push = (b) => {
    pending.push(b);
    if ((size += b.length) > 1 << 22) flush();
  };
  const put = (s) => push(Buffer.from(s));
  const blob = (p, data) => {
    put(`M 100644 inline ${p}\ndata ${data.length}\n`);
    push(data);
    put('\n');
  };
  const commit = (ref, message, from) => {
    put(
      `commit ${ref}\ncommitter Bench <bench@example.com> 1700000000 +0000\ndata ${message.length}\n${message}\n`,
    );
    if (from) put(`from ${from}\n`);
  };

  commit('refs/heads/main', 'release A');
  for (let i = 0; i < FILES; i++) blob(pathOf(i), contentOf(i));
  put('reset refs/tags/A\nfrom refs/heads/main\n\n');

  // Release B: pick distinct files for each kind of change.
  const order = [...Array(FILES).keys()];
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  let next = 0;
  const take = (n) => order.slice(next, (next += n));
  commit('refs/heads/main', 'release B'); // continues the branch: parent is A
  for (const i of take(CHANGES.modified)) blob(pathOf(i), contentOf(i, 1));
  for (const i of take(CHANGES.deleted)) put(`D ${pathOf(i)}\n`);
  for (let k = 0; k < CHANGES.added; k++) blob(pathOf(FILES + k), contentOf(FILES + k));
  const renamed = (i) => pathOf(i).replace('/flow-', '/moved/flow-');
  for (const i of take(CHANGES.renamedExact)) {
    put(`D ${pathOf(i)}\n`);
    blob(renamed(i), contentOf(i));
  }
  for (const i of take(CHANGES.renamedEdited)) {
    put(`D ${pathOf(i)}\n`);
    blob(renamed(i), contentOf(i, 2));
  }
  put('\nreset refs/tags/B\nfrom refs/heads/main\n\ndone\n');
  flush();
  closeSync(fd);
  const r = spawnSync('git', ['-C', repo, 'fast-import', '--quiet', '--done'], {
    stdio: [openSync(streamFile, 'r'), 'ignore', 'pipe'],
  });
  if (r.status !== 0) throw new Error(`git fast-import failed: ${r.stderr}`);
  rmSync(streamFile);
  writeFileSync(path.join(repo, '.git', 'diffship-bench-ready'), '');
}

function git(argv, input) {
  const r = spawnSync('git', ['-C', repo, ...argv], { input, maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`git ${argv[0]} failed: ${r.stderr}`);
  return r.stdout;
}

const commands = {
  git: ['git', ['-C', repo, 'diff-tree', '-r', '-z', '-M', '--raw', 'A', 'B']],
  diffship: [process.execPath, [cli, 'diff', '--repo', repo, '--from', 'A', '--to', 'B', '--json']],
  // The yardstick: the least any Node CLI can do for the same answer (see floor.mjs).
  floor: [process.execPath, [path.join(root, 'bench/diff/floor.mjs'), repo, 'A', 'B']],
};

const TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : null;

/**
 * One run: wall time measured here; CPU time and peak RSS through GNU time when
 * present. Both commands go through the same wrapper, so it costs them alike.
 */
function timeOnce([cmd, argv]) {
  const [file, args] = TIME ? [TIME, ['-f', '%U %S %M', cmd, ...argv]] : [cmd, argv];
  const start = process.hrtime.bigint();
  const r = spawnSync(file, args, { stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 30 });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (r.status !== 0) throw new Error(`${cmd} failed: ${r.stderr}`);
  const last = r.stderr.toString().trim().split('\n').pop() ?? '';
  const [user, sys, rssKb] = TIME ? last.split(' ').map(Number) : [NaN, NaN, NaN];
  return { ms, cpuMs: (user + sys) * 1000, rssMiB: rssKb / 1024, stdout: r.stdout };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

if (rebuild || !existsSync(path.join(repo, '.git', 'diffship-bench-ready'))) {
  const t = Date.now();
  buildRepo();
  console.log(`built ${repo} in ${((Date.now() - t) / 1000).toFixed(1)} s`);
}

// Warm-up (page cache, compile cache), and a sanity check: same number of changes.
const rawEntries = timeOnce(commands.git).stdout.toString('latin1').split('\0:').length;
const result = JSON.parse(timeOnce(commands.diffship).stdout.toString('utf8'));
if (result.changes.length !== rawEntries) {
  throw new Error(`diffship reports ${result.changes.length} changes, git ${rawEntries}`);
}

const load0 = os.loadavg()[0].toFixed(2);
const samples = { git: [], diffship: [], floor: [] };
timeOnce(commands.floor);
for (let i = 0; i < runs; i++) {
  samples.git.push(timeOnce(commands.git));
  samples.diffship.push(timeOnce(commands.diffship));
  samples.floor.push(timeOnce(commands.floor));
}
const stats = (xs) => ({
  wall: median(xs.map((x) => x.ms)),
  min: Math.min(...xs.map((x) => x.ms)),
  cpu: median(xs.map((x) => x.cpuMs)),
  rss: Math.max(...xs.map((x) => x.rssMiB)),
  all: xs.map((x) => x.ms.toFixed(0)).join(', '),
});
const g = stats(samples.git);
const d = stats(samples.diffship);
const f = stats(samples.floor);
const fmt = (x, unit) => (Number.isFinite(x) ? `${x.toFixed(0)} ${unit}` : 'n/a');
const line = (name, x) =>
  `${name}  wall median ${fmt(x.wall, 'ms')}, min ${fmt(x.min, 'ms')}; CPU median ${fmt(x.cpu, 'ms')}; ` +
  `peak RSS ${fmt(x.rss, 'MiB')}  (wall: ${x.all})`;

console.log(
  `repository: ${FILES} files at A; ${result.changes.length} changes A→B ${JSON.stringify(result.counts)}`,
);
console.log(
  `machine: ${os.cpus().length} cores, ${os.cpus()[0]?.model ?? '?'}, node ${process.version}, ${git(['--version']).toString().trim()}`,
);
console.log(
  `runs: ${runs} each, alternating; load average before/after: ${load0} / ${os.loadavg()[0].toFixed(2)}`,
);
console.log(line('git diff-tree -r -z -M --raw', g));
console.log(line('diffship diff --json        ', d));
console.log(line('floor (bench/diff/floor.mjs)', f));
console.log(
  `ratio diffship/git: median wall ${(d.wall / g.wall).toFixed(2)}×, min wall ${(d.min / g.min).toFixed(2)}×` +
    (FILES === 50_000
      ? `; diffship − floor: ${(d.wall - f.wall).toFixed(0)} ms (target ≤ 15 ms)`
      : '  (target ≤ 1.3×)'),
);
console.log(
  `ratio floor/git: median wall ${(f.wall / g.wall).toFixed(2)}× — the least a Node CLI running this git command takes`,
);

// The library in one warm process (bench/diff/in-process.mjs), its own process for a clean peak RSS.
const inProcess = spawnSync(
  process.execPath,
  ['--expose-gc', path.join(root, 'bench/diff/in-process.mjs'), repo, String(runs)],
  { encoding: 'utf8', maxBuffer: 1 << 20 },
);
if (inProcess.status !== 0) throw new Error(`bench/diff/in-process.mjs failed: ${inProcess.stderr}`);
const ip = JSON.parse(inProcess.stdout.trim().split('\n').pop());
const ipLine = (name, x) =>
  `${name}  wall median ${fmt(x.wall, 'ms')}, min ${fmt(x.min, 'ms')}; Node CPU median ${fmt(x.nodeCpu, 'ms')}  (wall: ${x.all})`;
console.log(
  `in one warm process (peak RSS ${fmt(ip.rssMiB, 'MiB')}; a result keeps ${fmt(ip.retainedMiB.diff, 'MiB')} ` +
    `of heap alive, the listing of B ${fmt(ip.retainedMiB.listing, 'MiB')}):`,
);
console.log(ipLine('  git diff-tree, spawned', ip.git));
console.log(ipLine('  diffReleases          ', ip.library));
console.log(
  `ratio diffReleases/git: median wall ${(ip.library.wall / ip.git.wall).toFixed(2)}×, ` +
    `min wall ${(ip.library.min / ip.git.min).toFixed(2)}×  (target ≤ 1.1×)`,
);
