#!/usr/bin/env node
// `npm run build` and the test setup: lib/ from scratch, then the CLI bundle.
//
// lib/ is emptied first: tsc never deletes, so a module removed from src/ would
// otherwise linger in lib/ and keep working for anything that still imports it
// (a benchmark, a stale test), hiding the break until a clean checkout.
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const node = (args) => execFileSync(process.execPath, args, { cwd: root, stdio: 'inherit' });

rmSync(`${root}lib`, { recursive: true, force: true });
node([`${root}node_modules/typescript/bin/tsc`, '-p', 'tsconfig.build.json']);
node([`${root}scripts/bundle.mjs`, 'cli']);
