/**
 * Tests that run the real CLI (`node bin/diffship.js`) need the built lib/ and
 * its CLI bundle. `npm test` is plain `vitest run`: this is its one build step,
 * the same script as `npm run build`, so `npx vitest run` alone is enough.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export default function setup(): void {
  const root = fileURLToPath(new URL('..', import.meta.url));
  execFileSync(process.execPath, [`${root}/scripts/build.mjs`], { cwd: root, stdio: 'inherit' });
}
