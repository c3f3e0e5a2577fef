// Writes the inputs and outputs tables of action.yml into README.md and
// docs/action.md, between <!-- action-docs:start --> and <!-- action-docs:end -->.
// `--check` writes nothing and exits 1 when a file is out of date (for CI).
// The result goes through prettier, so `prettier --check .` and this agree.
import fs from 'node:fs';
import path from 'node:path';
import * as prettier from 'prettier';
import { parse } from 'yaml';

const root = path.resolve(import.meta.dirname, '..');
const START = '<!-- action-docs:start -->';
const END = '<!-- action-docs:end -->';
const FILES = ['README.md', 'docs/action.md'];

/** A table cell: pipes escaped, line breaks flattened. */
const cell = (text) =>
  String(text ?? '')
    .replace(/\|/g, '\\|')
    .replace(/\s*\n\s*/g, ' ')
    .trim();
const code = (text) => (text === '' ? '`""`' : `\`${text}\``);

/** The markdown that goes between the markers. */
export function actionDocs(action) {
  const lines = [
    '<!-- Generated from action.yml by `node scripts/action-docs.mjs`; edit action.yml, not this table. -->',
    '',
    '### Inputs',
    '',
    '| Input | Default | Description |',
    '| --- | --- | --- |',
  ];
  for (const [name, input] of Object.entries(action.inputs ?? {})) {
    const fallback =
      input.default === undefined ? (input.required ? '*required*' : '') : code(String(input.default));
    lines.push(`| \`${name}\` | ${fallback} | ${cell(input.description)} |`);
  }
  lines.push('', '### Outputs', '', '| Output | Description |', '| --- | --- |');
  for (const [name, output] of Object.entries(action.outputs ?? {})) {
    lines.push(`| \`${name}\` | ${cell(output.description)} |`);
  }
  return lines.join('\n');
}

/** `text` with the part between the markers replaced; null when the markers are missing. */
export function replaceBetweenMarkers(text, generated) {
  const start = text.indexOf(START);
  const end = text.indexOf(END, start + START.length);
  if (start === -1 || end === -1) return null;
  return `${text.slice(0, start + START.length)}\n${generated}\n${text.slice(end)}`;
}

async function main() {
  const check = process.argv.includes('--check');
  const action = parse(fs.readFileSync(path.join(root, 'action.yml'), 'utf8'));
  const generated = actionDocs(action);
  let stale = false;
  for (const name of FILES) {
    const file = path.join(root, name);
    if (!fs.existsSync(file)) {
      console.warn(`action-docs: ${name} does not exist; skipped.`);
      continue;
    }
    const text = fs.readFileSync(file, 'utf8');
    const replaced = replaceBetweenMarkers(text, generated);
    if (replaced === null) {
      console.warn(`action-docs: ${name} has no ${START} … ${END} markers; skipped.`);
      continue;
    }
    const options = (await prettier.resolveConfig(file)) ?? {};
    const next = await prettier.format(replaced, { ...options, filepath: file });
    if (next === text) continue;
    if (check) {
      console.error(`action-docs: ${name} is out of date: run node scripts/action-docs.mjs`);
      stale = true;
    } else {
      fs.writeFileSync(file, next);
      console.log(`action-docs: updated ${name}`);
    }
  }
  if (stale) process.exit(1);
}

if (process.argv[1] && path.resolve(process.argv[1]) === import.meta.filename) await main();
