#!/usr/bin/env node
// Why diffship uses neither simple-git nor @actions/exec (README "Decisions worth
// knowing"): both start one git process per call and return text. This reads the
// same N blobs as one `git cat-file blob` process per blob (what a per-call
// wrapper does) and through one `git cat-file --batch` (what diffship does), and
// shows that a UTF-8 string loses a non-UTF-8 file name's bytes.
//
//   node bench/diff/per-call.mjs [--blobs 200] [--rounds 5]
import { execFile, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: { blobs: { type: 'string', default: '200' }, rounds: { type: 'string', default: '5' } },
});
const BLOBS = Number(values.blobs);
const ROUNDS = Number(values.rounds);
const run = promisify(execFile);

const repo = fs.mkdtempSync(path.join(os.tmpdir(), 'diffship-bench-per-call-'));
const git = (...args) => execFileSync('git', args, { cwd: repo, encoding: 'utf8' }).trim();
git('init', '-q');
for (let i = 0; i < BLOBS; i++) fs.writeFileSync(path.join(repo, `f${i}.txt`), `file ${i}\n`);
git('add', '-A');
const oids = git('ls-files', '-s')
  .split('\n')
  .map((line) => line.split(' ')[1]);

async function perCall() {
  for (const oid of oids) await run('git', ['cat-file', 'blob', oid], { cwd: repo, encoding: 'buffer' });
}

async function batch() {
  const child = spawn('git', ['cat-file', '--batch'], { cwd: repo });
  let buffer = Buffer.alloc(0);
  let answered = 0;
  await new Promise((resolve, reject) => {
    child.on('error', reject);
    child.stdout.on('data', (data) => {
      buffer = Buffer.concat([buffer, data]);
      for (;;) {
        const eol = buffer.indexOf(10);
        if (eol < 0) return;
        const size = Number(buffer.subarray(0, eol).toString().split(' ')[2]);
        if (buffer.length < eol + 1 + size + 1) return;
        buffer = buffer.subarray(eol + 1 + size + 1);
        if (++answered === oids.length) {
          child.stdin.end();
          resolve();
          return;
        }
      }
    });
    child.stdin.write(oids.join('\n') + '\n');
  });
}

const median = (list) => [...list].sort((a, b) => a - b)[list.length >> 1];
const times = { perCall: [], batch: [] };
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, fn] of Object.entries({ perCall, batch })) {
    const started = performance.now();
    await fn();
    times[name].push(performance.now() - started);
  }
}
fs.rmSync(repo, { recursive: true, force: true });

const perCallMs = median(times.perCall);
console.log(`${oids.length} blobs, median of ${ROUNDS} rounds (alternated):`);
console.log(
  `  one git process per call: ${perCallMs.toFixed(0)} ms (${(perCallMs / oids.length).toFixed(2)} ms a call)`,
);
console.log(`  one cat-file --batch:     ${median(times.batch).toFixed(1)} ms`);
const latin1Name = Buffer.from([0x66, 0xe9, 0x2e, 0x74, 0x78, 0x74]); // "fé.txt" in Latin-1
console.log(
  `  a Latin-1 name survives a UTF-8 string: ${Buffer.from(latin1Name.toString('utf8')).equals(latin1Name)}`,
);
