/**
 * gc-pacer.ts keeps V8's young generation at its starting size while a command runs, and
 * keeps it so after a worker thread starts. Node 20's V8 raises the growth factor back to its
 * default when a worker's isolate starts, for the whole process: the local writer thread did,
 * and a 500,000-file first deploy's main thread grew its young generation to 32 MiB after all
 * (~170 MiB peak RSS, ~145 with the flag set again). Node 24's V8 leaves the flag alone.
 *
 * A real Node process (the built lib/): starts a worker as the writer thread starts, sets the
 * factor back as Node 20's isolate start does (by hand, so that the check holds on any Node),
 * waits until the worker is up, then makes garbage of which some survives (what makes V8 grow
 * the young generation) and prints the young generation's size. Unpaced, the same work grows
 * it past the bound: the check can fail.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const PACER = fileURLToPath(new URL('../../lib/gc-pacer.js', import.meta.url));
const MIB = 2 ** 20;

const SCRIPT = `
import v8 from 'node:v8';
import { Worker } from 'node:worker_threads';
import { paceGarbage } from ${JSON.stringify(PACER)};
const stop = process.argv[1] === 'paced' ? paceGarbage() : () => {};
const young = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size;
// As the local writer thread starts (writer-thread.ts): a young generation of 1 MiB, a small stack.
const limits = { maxYoungGenerationSizeMb: 1, stackSizeMb: 1 };
const worker = new Worker('setInterval(() => {}, 1000)', { eval: true, resourceLimits: limits });
v8.setFlagsFromString('--semi-space-growth-factor=2'); // what the worker's start does on Node 20
await new Promise((resolve) => worker.once('online', resolve));
const keep = [];
for (let round = 0; round < 24; round++)
  for (let i = 0; i < 200000; i++) {
    const o = { a: i, b: 'x' + i };
    if (i % 50 === 0) keep.push(o);
  }
const size = young();
stop();
const listening = process.listenerCount('worker');
await worker.terminate();
console.log(JSON.stringify({ size, kept: keep.length, listening }));
`;

function run(mode: 'paced' | 'unpaced'): { size: number; kept: number; listening: number } {
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', SCRIPT, mode], {
    encoding: 'utf8',
  });
  return JSON.parse(out) as { size: number; kept: number; listening: number };
}

it('keeps the young generation small after a worker thread starts, and stops watching at the stop', () => {
  const paced = run('paced');
  expect(paced.kept).toBe(24 * 4000);
  expect(paced.size).toBeLessThanOrEqual(4 * MIB); // 2 MiB measured: two semi-spaces of 1 MiB
  expect(paced.listening).toBe(0);
});

it('the same work grows an unpaced young generation past that (what the check above would miss)', () => {
  expect(run('unpaced').size).toBeGreaterThan(4 * MIB); // 32 MiB measured
});
