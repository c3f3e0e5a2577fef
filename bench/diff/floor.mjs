#!/usr/bin/env node
// The least any Node.js CLI can do to answer `diffship diff --json`, as a yardstick
// for bench/diff/run.mjs: start Node, run the same `git diff-tree`, parse its
// records into objects, sort them, print JSON. No ref check, no config, no
// filters, no error handling, no argument parser, no exactness for names that
// are not UTF-8. diffship can approach this program's time but not beat it, so
// the gap between this row and git's is the part of the ratio no amount of work
// inside diffship removes on the machine at hand.
//
//   node bench/diff/floor.mjs <repo> <from> <to>
import { spawn } from 'node:child_process';

const [repo, from, to] = process.argv.slice(2);
const git = spawn('git', ['-C', repo, 'diff-tree', '-r', '-z', '--raw', '--find-renames', from, to], {
  stdio: ['ignore', 'pipe', 'ignore'],
});
const chunks = [];
git.stdout.on('data', (chunk) => chunks.push(chunk));
git.on('close', () => {
  const fields = Buffer.concat(chunks).toString('utf8').split('\0');
  const changes = [];
  for (let i = 0; i < fields.length - 1;) {
    const h = fields[i++];
    // ":<oldMode> <newMode> <oldOid> <newOid> <status>": 40-hex ids, so fixed offsets.
    const base = {
      mode: h.slice(8, 14),
      blob: h.slice(56, 96),
      oldMode: h.slice(1, 7),
      oldBlob: h.slice(15, 55),
    };
    if (h.charAt(97) === 'R') {
      const oldPath = fields[i++];
      changes.push({
        status: 'renamed',
        path: fields[i++],
        oldPath,
        similarity: Number(h.slice(98)),
        ...base,
      });
    } else changes.push({ status: h.charAt(97), path: fields[i++], ...base });
  }
  changes.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  process.stdout.write(`${JSON.stringify({ from, to, changes })}\n`);
});
