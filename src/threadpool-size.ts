/**
 * Imported first by the ES module launcher (bin/diffship.js) and the Action's entry, for its
 * side effect: libuv's threadpool gets `THREADPOOL_SIZE` threads instead of 4. The command
 * itself, bin/diffship.cjs, does the same before it loads bin/diffship.js: as CommonJS it
 * runs before the pool starts on Node 20 too (then this file finds the pool started).
 *
 * Every target's fsyncs, directory reads and promise-API file calls queue on that one
 * pool; with `max-parallel` targets at once, 4 threads leave the targets waiting on each
 * other's fsyncs. libuv reads UV_THREADPOOL_SIZE once, when the pool starts (on its first
 * use, which Node 24 delays until the program's first asynchronous file call; Node 20
 * starts it while it loads an ES module entry, so there only the CommonJS launcher can).
 * A size the user set is kept. The variable is taken back out of the environment right
 * after the pool starts, so hooks and checks inherit the user's environment unchanged.
 */
import * as fs from 'node:fs';

const THREADPOOL_SIZE = '16';

if (process.env.UV_THREADPOOL_SIZE === undefined) {
  process.env.UV_THREADPOOL_SIZE = THREADPOOL_SIZE;
  // Queuing any work starts the pool, synchronously, with the size read from the environment.
  fs.stat('/', () => {});
  delete process.env.UV_THREADPOOL_SIZE;
}
