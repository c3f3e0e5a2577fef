// Post-processing of the ncc bundle (`npm run bundle`).
//
// ncc bundles CommonJS dependencies into an ES module, where `__dirname` and
// `__filename` do not exist; ssh2's poly1305 (an emscripten module) reads
// `__dirname` when it loads and crashes the action with a ReferenceError.
// A banner defines both from import.meta.url, as Node does for CommonJS.
//
// Then it checks what would make a committed dist/ wrong: a missing entry, a
// missing `"type": "module"` marker (the bundle is ESM and must run even where
// no package.json above it says so), and absolute paths of the build machine
// (they would make check-dist differ between machines).
import fs from 'node:fs';
import path from 'node:path';

const dist = path.resolve(import.meta.dirname, '..', 'dist');
const entry = path.join(dist, 'index.js');
const fail = (message) => {
  console.error(`fix-dist: ${message}`);
  process.exit(1);
};

if (!fs.existsSync(entry) || fs.statSync(entry).size === 0)
  fail(`${entry} is missing or empty: run npm run bundle.`);

const BANNER = [
  '// diffship: CommonJS globals for bundled dependencies (added by scripts/fix-dist.mjs).',
  "import { fileURLToPath as __diffshipFileURLToPath } from 'node:url';",
  "import { dirname as __diffshipDirname } from 'node:path';",
  'const __filename = __diffshipFileURLToPath(import.meta.url);',
  'const __dirname = __diffshipDirname(__filename);',
  '',
].join('\n');
const code = fs.readFileSync(entry, 'utf8');
if (!code.startsWith(BANNER)) {
  if (/^(?:var|let|const|function|class) (?:__dirname|__filename)\b/m.test(code)) {
    fail(
      'dist/index.js declares __dirname or __filename at top level itself: the banner would clash; check the ncc output.',
    );
  }
  fs.writeFileSync(entry, BANNER + code);
  console.log('fix-dist: defined __dirname and __filename for bundled CommonJS code');
}

const marker = path.join(dist, 'package.json');
const wanted = '{"type":"module"}';
if (!fs.existsSync(marker) || JSON.parse(fs.readFileSync(marker, 'utf8')).type !== 'module') {
  fs.writeFileSync(marker, wanted + '\n');
  console.log('fix-dist: wrote dist/package.json {"type":"module"}');
}

const root = path.resolve(import.meta.dirname, '..');
for (const name of fs.readdirSync(dist)) {
  if (!name.endsWith('.js')) continue;
  if (fs.readFileSync(path.join(dist, name), 'utf8').includes(root + path.sep)) {
    fail(`dist/${name} contains the build folder ${root}: the bundle must not depend on where it was built.`);
  }
}
console.log(`fix-dist: ${path.relative(root, entry)} ok (${Math.round(fs.statSync(entry).size / 1024)} KiB)`);
