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

const { main } = await import('../lib/bundle/main.js');
process.exitCode = await main(process.argv);
