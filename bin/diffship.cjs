#!/usr/bin/env node
// The `diffship` command (package.json "bin"). CommonJS on purpose: libuv reads
// UV_THREADPOOL_SIZE once, when its threadpool starts, and Node 20 starts the pool
// while it loads an ES module entry, before a line of that module runs. Here the
// pool starts first, with 16 threads (what src/threadpool-size.ts does for the ES
// module launcher on Node 24 and for the Action), then the ES module CLI loads.
'use strict';
// eslint-disable-next-line @typescript-eslint/no-require-imports -- CommonJS on purpose (above)
const fs = require('node:fs');

if (process.env.UV_THREADPOOL_SIZE === undefined) {
  process.env.UV_THREADPOOL_SIZE = '16';
  // Queuing any work starts the pool, synchronously, with the size read from the environment.
  fs.stat('/', () => {});
  // Hooks and checks inherit the user's environment unchanged.
  delete process.env.UV_THREADPOOL_SIZE;
}

import('./diffship.js').catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
