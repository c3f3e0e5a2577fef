#!/usr/bin/env node
// Bundle the compiled CLI (lib/cli/main.js) into lib/bundle/, which bin/diffship.js runs.
//
// Why: unbundled, `diffship deploy` resolves and compiles ~1,000 module files
// (zod, yaml, commander, our own ~100) before it does any work: 60–85 ms of a
// 175 ms deploy. Bundled, each command loads a handful of files.
//
// - splitting: every `import()` in the CLI stays lazy and becomes its own chunk,
//   so `diffship diff` never loads the config, rollout or SSH code;
// - ssh2 stays external: it is loaded on first use by SSH targets only, from
//   node_modules, as before (its optional native addon must not be bundled);
// - lib/bundle/ sits two folders below the package root, as lib/cli/ does, so the
//   `import.meta.url`-relative paths (package.json, examples/host/) still resolve.
//
// The library (lib/index.js) is not bundled: its users' bundlers do that.
import { build } from 'esbuild';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const outdir = `${root}lib/bundle`;

rmSync(outdir, { recursive: true, force: true });
await build({
  entryPoints: [`${root}lib/cli/main.js`],
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: ['ssh2'],
  // CommonJS dependencies (commander, yaml) call require() for Node's built-ins.
  banner: {
    js: "import { createRequire as __diffshipCreateRequire } from 'node:module'; const require = __diffshipCreateRequire(import.meta.url);",
  },
  // The dependencies' license comments go to the end of each file.
  legalComments: 'eof',
  logLevel: 'warning',
});
