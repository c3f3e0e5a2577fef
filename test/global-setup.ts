/**
 * Tests that run the real CLI (`node bin/diffship.js`) need the built lib/ and
 * its CLI bundle. `npm test` is plain `vitest run`: this is its one build step,
 * the same script as `npm run build`, so `npx vitest run` alone is enough.
 *
 * The run also gets a temporary folder of its own (TMPDIR, inherited by the test
 * workers and every process they start), removed at the end: a CLI the kill tests
 * SIGKILL cannot remove its scratch folder, and would leave it in /tmp otherwise.
 * Mounts a killed test left inside are undone first, and the folders of earlier runs
 * whose vitest process is gone are removed (test/helpers/run-folder.ts).
 */
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { makeRunFolder, removeRunFolder, removeStaleRuns } from './helpers/run-folder.js';

export default function setup(): () => void {
  const root = fileURLToPath(new URL('..', import.meta.url));
  execFileSync(process.execPath, [`${root}/scripts/build.mjs`], { cwd: root, stdio: 'inherit' });
  for (const name of removeStaleRuns(tmpdir()))
    console.log(`removed ${name}, left by a test run that was killed`);
  const own = makeRunFolder(tmpdir());
  const before = process.env.TMPDIR;
  process.env.TMPDIR = own;
  return () => {
    if (before === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = before;
    removeRunFolder(own);
  };
}
