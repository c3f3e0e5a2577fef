// Writes test/durations.json (the order test/longest-first.ts starts files in) from a vitest
// JSON report: `npx vitest run --reporter=json --outputFile=/tmp/r.json`, then
// `node scripts/test-durations.mjs /tmp/r.json`. Rounded to 100 ms: a refresh changes only
// what moved.
import { readFileSync, writeFileSync } from 'node:fs';
import { relative } from 'node:path';

const [report] = process.argv.slice(2);
if (!report) {
  console.error('usage: node scripts/test-durations.mjs <vitest JSON report>');
  process.exit(2);
}
const root = new URL('..', import.meta.url).pathname;
const r = JSON.parse(readFileSync(report, 'utf8'));
const durations = Object.fromEntries(
  r.testResults
    .map((f) => [relative(root, f.name), Math.round((f.endTime - f.startTime) / 100) * 100])
    .sort(([a], [b]) => (a < b ? -1 : 1)),
);
writeFileSync(new URL('../test/durations.json', import.meta.url), `${JSON.stringify(durations, null, 1)}\n`);
console.log(`test/durations.json: ${Object.keys(durations).length} files`);
