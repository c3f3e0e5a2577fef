// Shared pieces of the benchmarks: generated repositories, timing, medians.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  closeSync,
  existsSync,
  lstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
// DIFFSHIP_BENCH_CLI: another build's bin/diffship.js, to compare two versions on one machine.
export const cli = process.env.DIFFSHIP_BENCH_CLI ?? path.join(root, 'bin/diffship.js');

export function requireBuild(name) {
  if (!existsSync(path.join(root, 'lib/bundle/main.js'))) {
    console.error(`${name}: run \`npm run build\` first (lib/bundle/main.js is missing)`);
    process.exit(2);
  }
}

export function run(cmd, argv, options = {}) {
  const stdin = options.input === undefined ? 'ignore' : 'pipe';
  const r = spawnSync(cmd, argv, { stdio: [stdin, 'pipe', 'pipe'], maxBuffer: 1 << 30, ...options });
  if (r.status !== 0) throw new Error(`${cmd} ${argv.join(' ')} failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

/** Wall time of one run of a command, in ms. */
export function timeOnce(cmd, argv, options = {}) {
  const start = process.hrtime.bigint();
  run(cmd, argv, options);
  return Number(process.hrtime.bigint() - start) / 1e6;
}

export const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/**
 * A preload (`node --require <it>`) that writes the process's own peak RSS in KiB (its VmHWM)
 * to the file `$BENCH_RSS_FILE` names, at exit; made in `dir`, its path returned. Not
 * process.resourceUsage().maxRSS: Linux carries that over exec from the process that forked it.
 */
export function peakRssPreload(dir) {
  const file = path.join(dir, 'report-rss.cjs');
  writeFileSync(
    file,
    "const fs = require('node:fs');\n" +
      "process.on('exit', () => fs.writeFileSync(process.env.BENCH_RSS_FILE, /VmHWM:\\s+(\\d+)/.exec(fs.readFileSync('/proc/self/status', 'utf8'))[1]));\n",
  );
  return file;
}

/**
 * A repository built once with `git fast-import` and cached in `dir`: `releases`
 * is a list of { tag, files: Map<path, Buffer> (or any iterable of [path, Buffer]),
 * deleted: string[] } applied in order. The import stream goes through a file in
 * pieces, so a 500,000-file release is never whole in memory.
 */
export function fastImportRepo(dir, releases) {
  if (existsSync(path.join(dir, '.git', 'diffship-bench-ready'))) return;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  run('git', ['-C', dir, 'init', '-q', '-b', 'main']);
  const streamFile = path.join(dir, '.git', 'bench-import.stream');
  const fd = openSync(streamFile, 'w');
  let chunks = [];
  let size = 0;
  const flush = () => {
    writeSync(fd, Buffer.concat(chunks));
    chunks = [];
    size = 0;
  };
  const put = (b) => {
    chunks.push(typeof b === 'string' ? Buffer.from(b) : b);
    size += chunks[chunks.length - 1].length;
    if (size > 1 << 22) flush();
  };
  for (const rel of releases) {
    const message = `release ${rel.tag}`;
    put(
      `commit refs/heads/main\ncommitter Bench <bench@example.com> 1700000000 +0000\ndata ${message.length}\n${message}\n`,
    );
    for (const p of rel.deleted ?? []) put(`D ${p}\n`);
    for (const [p, data] of rel.files) {
      put(`M 100644 inline ${p}\ndata ${data.length}\n`);
      put(data);
      put('\n');
    }
    put(`\nreset refs/tags/${rel.tag}\nfrom refs/heads/main\n\n`);
  }
  put('done\n');
  flush();
  closeSync(fd);
  const r = spawnSync('git', ['-C', dir, 'fast-import', '--quiet', '--done'], {
    stdio: [openSync(streamFile, 'r'), 'ignore', 'pipe'],
  });
  if (r.status !== 0) throw new Error(`git fast-import failed: ${r.stderr}`);
  rmSync(streamFile);
  writeFileSync(path.join(dir, '.git', 'diffship-bench-ready'), '');
}

/** Materialize a release as a plain folder (what rsync would copy from). */
export function exportTree(repo, ref, into) {
  rmSync(into, { recursive: true, force: true });
  mkdirSync(into, { recursive: true });
  spawnSync('sh', ['-c', `git -C "$0" archive --format=tar "$1" | tar -x -C "$2"`, repo, ref, into], {
    stdio: 'inherit',
  });
}

export function ratio(a, b) {
  return (a / b).toFixed(2);
}

/**
 * A checkout of `ref` in `dir`, made the way a CI job's working tree is: files get the
 * time they were written. `switchCheckout` then rewrites only the files that differ
 * between two releases (as `git checkout` does), so rsync's quick check (size + mtime)
 * sees exactly the changed files. A `git archive` export would give every file the
 * commit's time, and two releases with one commit time and same-size edits would make
 * rsync copy nothing at all.
 */
export function checkout(repo, ref, dir) {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  readTree(repo, dir, ['--reset', '-u', ref]);
  lastSwitch.set(dir, Math.floor(Date.now() / 1000));
}

export function switchCheckout(repo, dir, from, to) {
  // rsync's quick check compares whole seconds of mtime, and the edits keep each file's size:
  // a switch in the same second as the one before it (a fast machine) would give the
  // rewritten files the mtime their old bytes had, and rsync would copy nothing. Wait for
  // the next second first (the tree check after each run caught exactly that).
  const last = lastSwitch.get(dir);
  while (last !== undefined && Math.floor(Date.now() / 1000) === last) Atomics.wait(pause, 0, 0, 20);
  readTree(repo, dir, ['-m', '-u', from, to]);
  lastSwitch.set(dir, Math.floor(Date.now() / 1000));
}
/** Checkout folder → the second its last switch ended in. */
const lastSwitch = new Map();
const pause = new Int32Array(new SharedArrayBuffer(4));

function readTree(repo, dir, argv) {
  // A private index per checkout, outside the tree, so nothing but the release is in it.
  const index = `${dir}.index`;
  run('git', [`--git-dir=${path.join(repo, '.git')}`, `--work-tree=${dir}`, 'read-tree', ...argv], {
    env: { ...process.env, GIT_INDEX_FILE: index },
  });
}

/**
 * Path → "type mode digest" for every file and link below `dir` (folders named in
 * `skip` left out), to check after a timed run that a tool really did the job.
 */
export function treeDigest(dir, skip = ['.diffship']) {
  const out = new Map();
  const walk = (abs, rel) => {
    for (const e of readdirSync(abs, { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (!rel && skip.includes(e.name)) continue;
      const p = path.join(abs, e.name);
      if (e.isDirectory()) walk(p, r);
      else if (e.isSymbolicLink()) out.set(r, `link ${readlinkSync(p)}`);
      else {
        const mode = (lstatSync(p).mode & 0o111) !== 0 ? '755' : '644';
        out.set(r, `file ${mode} ${createHash('sha1').update(readFileSync(p)).digest('hex')}`);
      }
    }
  };
  walk(dir, '');
  return out;
}

/** Throws unless `dir` holds exactly what `expected` (a treeDigest) describes. */
export function assertTree(label, dir, expected) {
  const got = treeDigest(dir);
  const problems = [];
  for (const [p, d] of expected) if (got.get(p) !== d) problems.push(`${p}: ${got.get(p) ?? 'missing'}`);
  for (const p of got.keys()) if (!expected.has(p)) problems.push(`${p}: extra`);
  if (problems.length > 0) {
    throw new Error(
      `${label}: the tree differs from the release (${problems.length} paths): ${problems.slice(0, 5).join('; ')}`,
    );
  }
}
