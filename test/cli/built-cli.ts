/** Run the built CLI (`node bin/diffship.js`) as a child process, building lib/ first when it is stale. */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '../..');
export const BIN = join(ROOT, 'bin/diffship.js');

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestSource(full) : statSync(full).mtimeMs);
  }
  return newest;
}

/** Build lib/ with tsc when any source is newer than the CLI entry (type errors elsewhere don't stop emit). */
export function ensureBuilt(): void {
  const entry = join(ROOT, 'lib/cli/main.js');
  const sources = Math.max(newestSource(join(ROOT, 'src/cli')), newestSource(join(ROOT, 'src/diff')));
  if (existsSync(entry) && statSync(entry).mtimeMs >= sources) return;
  try {
    execFileSync(
      process.execPath,
      [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(ROOT, 'tsconfig.build.json')],
      {
        stdio: 'ignore',
      },
    );
  } catch {
    // tsc exits non-zero for type errors anywhere, yet still emits; the check below is what matters.
  }
  if (!existsSync(entry)) throw new Error('npx tsc -p tsconfig.build.json did not produce lib/cli/main.js');
}

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `node bin/diffship.js ...args` with a clean colour environment unless `env` says otherwise. */
export function runCli(
  args: readonly string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): CliRun {
  const env = { ...process.env };
  delete env.FORCE_COLOR;
  delete env.NO_COLOR;
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd: options.cwd ?? ROOT,
    env: { ...env, ...options.env },
    encoding: 'utf8',
    maxBuffer: 1 << 28,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
