// Shared pieces of the benchmarks: generated repositories, timing, medians.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const cli = path.join(root, 'bin/diffship.js');

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
 * A repository built once with `git fast-import` and cached in `dir`: `releases`
 * is a list of { tag, files: Map<path, Buffer>, deleted: string[] } applied in order.
 */
export function fastImportRepo(dir, releases) {
  if (existsSync(path.join(dir, '.git', 'diffship-bench-ready'))) return;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  run('git', ['-C', dir, 'init', '-q', '-b', 'main']);
  const chunks = [];
  const put = (s) => chunks.push(Buffer.from(s));
  for (const rel of releases) {
    const message = `release ${rel.tag}`;
    put(
      `commit refs/heads/main\ncommitter Bench <bench@example.com> 1700000000 +0000\ndata ${message.length}\n${message}\n`,
    );
    for (const p of rel.deleted ?? []) put(`D ${p}\n`);
    for (const [p, data] of rel.files) {
      put(`M 100644 inline ${p}\ndata ${data.length}\n`);
      chunks.push(data, Buffer.from('\n'));
    }
    put(`\nreset refs/tags/${rel.tag}\nfrom refs/heads/main\n\n`);
  }
  put('done\n');
  run('git', ['-C', dir, 'fast-import', '--quiet', '--done'], { input: Buffer.concat(chunks) });
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
