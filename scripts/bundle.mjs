#!/usr/bin/env node
// The two bundles, both by esbuild (why not ncc: README "Decisions worth knowing").
//
//   node scripts/bundle.mjs cli     lib/cli/main.js     → lib/bundle/  (bin/diffship.js runs it)
//   node scripts/bundle.mjs action  lib/action/index.js → dist/        (action.yml runs dist/index.js)
//
// CLI: unbundled, `diffship deploy` resolves and compiles ~1,000 module files
// (zod, yaml, commander, our own ~100) before it does any work. Bundled with
// splitting, every `import()` stays lazy and becomes its own chunk (`diffship
// diff` never loads the config, rollout or SSH code); ssh2 stays external and is
// loaded from node_modules by SSH targets only (its optional native addon must
// not be bundled). lib/bundle/ sits two folders below the package root, as
// lib/cli/ does, so `import.meta.url`-relative paths (package.json,
// examples/host/) still resolve.
//
// Action: one self-contained file, ssh2 included: a runner has no node_modules.
//
// The library (lib/index.js) is not bundled: its users' bundlers do that.
import { build } from 'esbuild';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

// Bundled CommonJS dependencies call require() for Node's built-ins (commander,
// yaml) and read __dirname when they load (ssh2's poly1305, an emscripten
// module); an ES module has neither, so each bundle defines them from import.meta.url.
const COMMONJS_GLOBALS = [
  "import { createRequire as __diffshipCreateRequire } from 'node:module';",
  "import { fileURLToPath as __diffshipFileURLToPath } from 'node:url';",
  "import { dirname as __diffshipDirname } from 'node:path';",
  'const require = __diffshipCreateRequire(import.meta.url);',
  'const __filename = __diffshipFileURLToPath(import.meta.url);',
  'const __dirname = __diffshipDirname(__filename);',
].join(' ');

const common = {
  bundle: true,
  format: 'esm',
  platform: 'node',
  banner: { js: COMMONJS_GLOBALS },
  // The dependencies' license comments go to the end of each file.
  legalComments: 'eof',
  logLevel: 'warning',
};

// Every CLI run reads, decodes and loads its chunks before it starts any work: without blanks
// and with shorter syntax they are a third smaller (1.5 → 1.0 MB), ~30 ms less per run here.
// Names are kept, so a stack trace still names its functions.
const SMALLER = { minifyWhitespace: true, minifySyntax: true };

// ssh2 runs util/pagent.exe (Windows Pageant) from `${__dirname}/..`; in the
// action bundle it sits next to dist/index.js, as ncc placed it before.
const PAGENT = `${root}node_modules/ssh2/util/pagent.exe`;
const pagentNextToBundle = {
  name: 'pagent-next-to-bundle',
  setup(b) {
    b.onLoad({ filter: /ssh2[\\/]lib[\\/]agent\.js$/ }, async (args) => {
      const text = await fs.promises.readFile(args.path, 'utf8');
      const from = "resolve(__dirname, '..', 'util/pagent.exe')";
      if (!text.includes(from))
        throw new Error(`${args.path} no longer has ${from}: check the pagent.exe path`);
      return { contents: text.replace(from, "resolve(__dirname, 'pagent.exe')"), loader: 'js' };
    });
  },
};

const bundles = {
  cli: {
    ...common,
    entryPoints: [`${root}lib/cli/main.js`],
    outdir: `${root}lib/bundle`,
    splitting: true,
    target: 'node20',
    external: ['ssh2'],
    ...SMALLER,
  },
  action: {
    ...common,
    entryPoints: [`${root}lib/action/index.js`],
    outfile: `${root}dist/index.js`,
    target: 'node24',
    // ssh2's optional native parts, each loaded in a try/catch with a JavaScript fallback.
    external: ['cpu-features', '*.node'],
    plugins: [pagentNextToBundle],
    metafile: true,
  },
};

// What bin/diffship.js loads first for `diffship diff` (src/cli/diff-early.ts), built with the
// CLI: one file of its own, not chunks shared with the CLI (one module load instead of four,
// ~3 ms sooner to start git). Its few helpers are thus in lib/bundle/ twice; early-git.ts keeps
// its state on globalThis, so the two copies share it.
const cliEarly = {
  ...common,
  banner: undefined,
  entryPoints: [`${root}lib/cli/diff-early.js`],
  outfile: `${root}lib/bundle/diff-early.js`,
  target: 'node20',
  ...SMALLER,
};

const which = process.argv[2];
const options = bundles[which];
if (!options) {
  console.error(`usage: node scripts/bundle.mjs ${Object.keys(bundles).join('|')}`);
  process.exit(2);
}
const out = options.outdir ?? `${root}dist`;
fs.rmSync(out, { recursive: true, force: true });
const result = await build(options);
if (which === 'cli') await build(cliEarly);
// The bundle is ESM: it must run even where no package.json above it says so.
if (which === 'action') {
  fs.writeFileSync(`${out}/package.json`, '{"type":"module"}\n');
  fs.copyFileSync(PAGENT, `${out}/pagent.exe`);
  fs.writeFileSync(`${out}/licenses.txt`, licenses(result.metafile));
  // An absolute path of the build machine would make check-dist differ between machines.
  if (fs.readFileSync(`${out}/index.js`, 'utf8').includes(root)) {
    console.error(
      `bundle: dist/index.js contains the build folder ${root}: it must not depend on where it was built.`,
    );
    process.exit(1);
  }
}

/** The license text of every package bundled into the action, as their licenses ask. */
function licenses(metafile) {
  const packages = new Set();
  for (const input of Object.keys(metafile.inputs)) {
    const match = /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(input);
    if (match) packages.add(match[1]);
  }
  const sections = [];
  for (const dir of [...packages].sort()) {
    const manifest = JSON.parse(fs.readFileSync(`${root}${dir}/package.json`, 'utf8'));
    const file = fs.readdirSync(`${root}${dir}`).find((name) => /^(licen[cs]e|copying)(\.|$)/i.test(name));
    const text = file ? fs.readFileSync(`${root}${dir}/${file}`, 'utf8').trim() : '(no license file)';
    sections.push(`${manifest.name}\n${manifest.license ?? ''}\n${text}`);
  }
  return sections.join('\n\n') + '\n';
}
