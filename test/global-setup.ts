/**
 * Tests that run the real CLI (`node bin/diffship.js`) need the compiled lib/.
 * `npm test` is plain `vitest run`: this is its one build step.
 * Build it once per run, so `npx vitest run` alone is enough.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export default function setup(): void {
  const root = fileURLToPath(new URL('..', import.meta.url));
  execFileSync(process.execPath, [`${root}/node_modules/typescript/bin/tsc`, '-p', 'tsconfig.build.json'], {
    cwd: root,
    stdio: 'inherit',
  });
}
