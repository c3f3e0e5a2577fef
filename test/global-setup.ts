/**
 * Tests that run the real CLI (`node bin/diffship.js`) need the built lib/ and
 * its CLI bundle. `npm test` is plain `vitest run`: this is its one build step,
 * the same two steps as `npm run build`, so `npx vitest run` alone is enough.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export default function setup(): void {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const run = (args: string[]) => execFileSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
  run([`${root}/node_modules/typescript/bin/tsc`, '-p', 'tsconfig.build.json']);
  run([`${root}/scripts/bundle-cli.mjs`]);
}
