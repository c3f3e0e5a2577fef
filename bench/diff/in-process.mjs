#!/usr/bin/env node
// The library's `diffReleases` in one warm Node process, against the same
// `git diff-tree -r -z -M --raw A B` spawned from that process (bench/diff/run.mjs
// runs this; it can run alone too). Alternating, after one warm-up of each.
// Prints one JSON line: median and minimum wall times (ms), the Node process's
// own CPU time per call (ms; git's is not in it), and peak RSS of this process.
//
//   node bench/diff/in-process.mjs <repo> [runs]
import { spawn } from 'node:child_process';
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
console.log(
  JSON.stringify({
    git: stats(samples.git),
    library: stats(samples.library),
    rssMiB: process.resourceUsage().maxRSS / 1024,
  }),
);
