#!/usr/bin/env node
// The library's `diffReleases` in one warm Node process, against the same
// `git diff-tree -r -z -M --raw A B` spawned from that process (bench/diff/run.mjs
// runs this; it can run alone too). Alternating, after one warm-up of each.
// Prints one JSON line: median and minimum wall times (ms), the Node process's
// own CPU time per call (ms; git's is not in it), peak RSS of this process, and
// (run with --expose-gc) the heap a result keeps alive: `retainedMiB` for the
// A..B diff and for the listing of B (every file added, what a first deploy diffs).
//
//   node --expose-gc bench/diff/in-process.mjs <repo> [runs]
import { readFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import v8 from 'node:v8';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const [repo, runsArg] = process.argv.slice(2);
const runs = Number(runsArg) || 5;
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const { diffReleases } = await import(pathToFileURL(path.join(root, 'lib/index.js')).href);

const git = () =>
  new Promise((resolve, reject) => {
    const child = spawn('git', ['-C', repo, 'diff-tree', '-r', '-z', '-M', '--raw', 'A', 'B'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const out = [];
    child.stdout.on('data', (chunk) => out.push(chunk));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(Buffer.concat(out)) : reject(new Error(`git ${code}`)),
    );
  });
const library = () => diffReleases({ repo, from: 'A', to: 'B' });

async function time(fn) {
  const cpu = process.cpuUsage();
  const start = performance.now();
  await fn();
  const ms = performance.now() - start;
  const { user, system } = process.cpuUsage(cpu);
  return { ms, cpuMs: (user + system) / 1000 };
}

await git();
await library();
const samples = { git: [], library: [] };
for (let i = 0; i < runs; i++) {
  samples.git.push(await time(git));
  samples.library.push(await time(library));
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const stats = (xs) => ({
  wall: median(xs.map((x) => x.ms)),
  min: Math.min(...xs.map((x) => x.ms)),
  nodeCpu: median(xs.map((x) => x.cpuMs)),
  all: xs.map((x) => x.ms.toFixed(0)).join(', '),
});
// This process's own peak (VmHWM, KiB): resourceUsage().maxRSS carries over exec the RSS of the
// process that forked it (run through npx: npx's ~60 MB), so it never read below that.
const rssMiB =
  Number(
    /VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? process.resourceUsage().maxRSS,
  ) / 1024;

/** The heap one result keeps alive: used heap with it, less without it, after full collections. */
async function retainedMiB(options) {
  if (typeof globalThis.gc !== 'function') return null;
  // After a few turns of the event loop: the finished git processes' handles close then, and
  // until they do their listeners still reach the result.
  const used = async () => {
    await new Promise((resolve) => setTimeout(resolve, 50));
    globalThis.gc();
    globalThis.gc();
    return v8.getHeapStatistics().used_heap_size;
  };
  // On globalThis: a local the code no longer reads may be collected before it is measured.
  globalThis.keptResult = await diffReleases({ repo, ...options });
  const withIt = await used();
  globalThis.keptResult = null;
  return Math.round(((withIt - (await used())) / 2 ** 20) * 10) / 10;
}
const retained = {
  diff: await retainedMiB({ from: 'A', to: 'B' }),
  listing: await retainedMiB({ from: null, to: 'B' }),
};
console.log(
  JSON.stringify({
    git: stats(samples.git),
    library: stats(samples.library),
    rssMiB,
    retainedMiB: retained,
  }),
);
