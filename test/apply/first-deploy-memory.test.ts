/**
 * Memory of a big first deploy (issue 13: peak RSS < 150 MiB at 500,000
 * files). The peak was mostly V8's old space growing to up to 4× the live
 * heap while files were staged, each file's promoted garbage piling up
 * before a full collection; the CLI now asks for one when old space grows
 * past 1.25× what was live (src/gc-pacer.ts), and a write is its change's own
 * object. Unpaced, the same deploy peaked at ~46 MB (1,530 bytes a file).
 * Then the young generation (32 MiB committed for the whole run, whatever
 * the release's size) and the backup listing's chunks, all made before the
 * first was written: the CLI keeps the young generation at its starting
 * size, and the listing is made as it is written. Before that, this deploy's
 * RSS grew by ~3,000 bytes a file of the release over the process's RSS at
 * start (128 MiB at the peak); after, ~2,100 (102 MiB).
 *
 * The real CLI deploys 30,000 files into an empty folder while a preload
 * samples V8's old space every 2 ms and reads the process's peak RSS at exit.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cli } from '../helpers/cli.js';
import { git, tempDir } from '../helpers/git.js';
import { SPILL_AT } from '../../src/apply/stat-column.js';
import { parseManifestText, statText } from '../../src/apply/manifest-text.js';

const FILES = 30_000;
/**
 * Peak old space (and large objects) per file of the release, in bytes: ~450 measured since the
 * pacer's full collections are full ones (gc(), not gc(undefined)) and a listing's files are
 * compact (diff/listed-files.ts); ~620 measured since the
 * backup listing's and the manifest's lines go straight into their chunks' buffers (~840 before,
 * same machine: the lines held until a chunk was joined were promoted); ~850 since the pacer
 * answers buffers outside the heap with a young collection first (gc-pacer.ts), ~650 when every
 * such look ran a full one; ~1,200 before the pacer's 1.25x bound.
 */
const PEAK_PER_FILE = 600;
/**
 * Peak RSS over the RSS at start, per file of the release, in bytes: 2,000-2,140 measured as the
 * process's own VmHWM (99-103 MiB). The ~1,880 (~2,090, ~3,000 before) once measured here were
 * resourceUsage().maxRSS, which also holds the test runner's RSS at the fork.
 */
const RSS_PER_FILE = 2_500;
let repo: string;
let ws: string;

/** The preload: samples the old space every 2 ms; at exit writes its peak, the RSS at start and the peak RSS. */
const SAMPLER = `
const v8 = require('node:v8');
const fs = require('node:fs');
const rss0 = process.memoryUsage.rss();
const old = () => v8.getHeapSpaceStatistics()
  .filter((s) => s.space_name === 'old_space' || s.space_name === 'large_object_space')
  .reduce((n, s) => n + s.space_used_size, 0);
let peak = 0;
setInterval(() => { peak = Math.max(peak, old()); }, 2).unref();
// The peak of this process's own memory: VmHWM. Not resourceUsage().maxRSS, which Linux carries
// over exec from the forked parent's image (the test runner's worker: its RSS, not the CLI's).
const hwm = () => Number(/VmHWM:\\s+(\\d+)/.exec(fs.readFileSync('/proc/self/status', 'utf8'))[1]) * 1024;
process.on('exit', () => fs.writeFileSync(process.env.SAMPLE_OUT, JSON.stringify({ peak, rss0, maxRss: hwm() })));
`;

/** A release of FILES small files, 200 to a folder, in one `git fast-import`. */
function bigRepo(): string {
  const dir = tempDir('diffship-memory-repo-');
  git(dir, 'init', '-q', '-b', 'main');
  const parts = ['commit refs/heads/main', 'committer T <t@example.com> 1700000000 +0000', 'data 1', 'r'];
  for (let i = 0; i < FILES; i++) {
    const body = `<flow id="${i}"/>\n`;
    parts.push(
      `M 100644 inline flows/team-${Math.floor(i / 200)}/flow-${i}.xml`,
      `data ${body.length}`,
      body,
    );
  }
  const r = spawnSync('git', ['-C', dir, 'fast-import', '--quiet'], { input: parts.join('\n') + '\n' });
  if (r.status !== 0) throw new Error(`git fast-import: ${r.stderr.toString()}`);
  return dir;
}

beforeAll(() => {
  repo = bigRepo();
  ws = tempDir('diffship-memory-ws-');
  writeFileSync(join(ws, 'diffship.yml'), 'targets:\n  - { name: t, path: target }\n');
  writeFileSync(join(ws, 'sampler.cjs'), SAMPLER);
}, 180_000); // the import took over 60 s at a load of 13–17 on 2 cores
afterAll(() => {
  spawnSync('rm', ['-rf', repo, ws]);
});

it('a first deploy of 30,000 files keeps its old space under 600 bytes a file and its RSS growth under 2,500', () => {
  const out = join(ws, 'sample.json');
  const run = cli(ws, ['deploy', '--repo', repo, '--to', 'main', '--no-progress'], {
    NODE_OPTIONS: `--require ${join(ws, 'sampler.cjs')}`,
    SAMPLE_OUT: out,
  });
  expect(run.code, run.stderr).toBe(0);
  const teams = readdirSync(join(ws, 'target', 'flows'));
  expect(teams).toHaveLength(FILES / 200);
  expect(readFileSync(join(ws, 'target', 'flows', 'team-149', 'flow-29999.xml'), 'utf8')).toBe(
    '<flow id="29999"/>\n',
  );
  const { peak, rss0, maxRss } = JSON.parse(readFileSync(out, 'utf8')) as {
    peak: number;
    rss0: number;
    maxRss: number;
  };
  expect(peak / FILES).toBeLessThan(PEAK_PER_FILE);
  expect((maxRss - rss0) / FILES).toBeLessThan(RSS_PER_FILE);

  // The manifest's stats waited in a file between its passes (stat-column.ts: FILES ≥ SPILL_AT);
  // each line holds its file's stat as it is now, and the state names the file's size and hash.
  expect(FILES).toBeGreaterThanOrEqual(SPILL_AT);
  const state = JSON.parse(readFileSync(join(ws, 'target', '.diffship', 'state.json'), 'utf8')) as {
    manifestFile: { file: string; sha256: string; size: number };
  };
  const data = readFileSync(join(ws, 'target', '.diffship', 'manifests', state.manifestFile.file));
  expect(data.length).toBe(state.manifestFile.size);
  expect(createHash('sha256').update(data).digest('hex')).toBe(state.manifestFile.sha256);
  const entries = parseManifestText(data.toString('utf8'), 40, 'manifest');
  expect(entries).toHaveLength(FILES);
  const wrong = entries.filter((e) => {
    const st = lstatSync(join(ws, 'target', e.path), { bigint: true });
    const now = `${st.size},${st.mtimeNs},${st.ctimeNs},${st.ino},${st.mode}`;
    return e.stat === undefined || statText(e.stat) !== now;
  });
  expect(wrong.map((e) => e.path).slice(0, 3)).toEqual([]);
}, 300_000);
