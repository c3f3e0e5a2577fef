#!/usr/bin/env node
// Runs every benchmark in one go and prints their figures (npm run bench).
// Each script can also run alone; see bench/README.md for what each measures.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const only = process.argv.slice(2);
let failed = 0;
for (const name of ['diff', 'deploy', 'ssh', 'rollout']) {
  if (only.length && !only.includes(name)) continue;
  const script = path.join(here, name, 'run.mjs');
  if (!existsSync(script)) continue;
  console.log(`\n== bench/${name}`);
  const r = spawnSync(process.execPath, [script], { stdio: 'inherit' });
  if (r.status !== 0) failed++;
}
process.exitCode = failed ? 1 : 0;
