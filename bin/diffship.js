#!/usr/bin/env node
// Launcher for the CLI bundle (lib/bundle/ is built by `npm run build`).
// First: a bigger libuv threadpool for fleets, set before anything uses the pool.
import '../lib/threadpool-size.js';
import module from 'node:module';

// Node ≥ 22.1 caches compiled code between runs: a faster start for every command.
module.enableCompileCache?.();

// A reader that stops early (`diffship diff | head`) is not an error.
process.stdout.on('error', (error) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

// `diffship diff` starts its git processes now, while the rest loads (src/cli/diff-early.ts).
const early = process.argv.includes('diff') ? await import('../lib/bundle/diff-early.js') : null;
await early?.startDiffEarly(process.argv);

const { main } = await import('../lib/bundle/main.js');
process.exitCode = await main(process.argv);
early?.dropEarly();
