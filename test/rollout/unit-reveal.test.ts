/**
 * `units.reveal: unit`: a poller scanning the unit folder in a tight loop (a
 * separate process, like a hot-deploy scanner) never sees a unit that is part
 * old, part new — while `reveal: file` (the control) does. DIFFSHIP_REVEAL_DEPLOYS
 * sets the number of deploys (default 20; the long run is recorded in test/README.md).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { deploy } from '../../src/api.js';
import { resolveConfig } from '../../src/config/resolve.js';
import { makeRepo } from '../helpers/repo.js';
import { git, tempDir } from '../helpers/git.js';
import { sshTargetConfig, startSshd, type Sshd } from '../helpers/sshd.js';

const DEPLOYS = Number(process.env.DIFFSHIP_REVEAL_DEPLOYS ?? 20);
const FILES = 12;

/** Release `v` of two packages: every file of `packages/P` says `v`; odd versions add `extra.json`. */
function tree(v: number): Record<string, string> {
  const t: Record<string, string> = { 'packages/Q/manifest.v3': '<Values version="2.0"/>\n' };
  for (let i = 0; i < FILES; i++) t[`packages/P/ns/f${i}.json`] = `{"v":${v}}\n`;
  t['packages/P/manifest.v3'] = `<Values version="2.0"><value name="version">${v}</value></Values>\n`;
  if (v % 2 === 1) t['packages/P/ns/extra.json'] = `{"v":${v}}\n`;
  return t;
}

/**
 * Scans packages/P until told to stop; prints one line per mixed view, then `scans N torn T mixed M`.
 * Like a hot-deploy scanner it opens the unit folder once and reads everything in it through
 * that handle (/proc/self/fd/N): a scan sees one folder. A scan that finds a file gone (the old
 * folder being removed after a swap) is torn: incomplete, not mixed, and it is not counted.
 */
const POLLER = `
const fs = require('node:fs'); const path = require('node:path');
const dir = process.argv[1]; let scans = 0, torn = 0, mixed = 0, stop = false;
process.on('SIGTERM', () => { stop = true; });
function scan() {
  let fd; try { fd = fs.openSync(dir, 'r'); } catch { return; }
  const base = '/proc/self/fd/' + fd;
  try {
    const names = fs.readdirSync(base + '/ns');
    const seen = new Set();
    for (const n of names) seen.add(JSON.parse(fs.readFileSync(base + '/ns/' + n, 'utf8')).v);
    seen.add(Number(/name="version">(\\d+)/.exec(fs.readFileSync(base + '/manifest.v3', 'utf8'))[1]));
    const v = [...seen][0];
    const files = names.filter((n) => n.startsWith('f')).length;
    const extra = names.includes('extra.json');
    scans++;
    if (seen.size !== 1 || files !== ${FILES} || extra !== (v % 2 === 1)) { mixed++; if (mixed <= 5) console.log('mixed', JSON.stringify([...seen]), files, extra); }
  } catch (e) {
    if (e.code !== 'ENOENT') throw e;
    torn++;
  } finally { fs.closeSync(fd); }
}
(function loop() { const end = Date.now() + 20; while (Date.now() < end) scan(); if (stop) { console.log('scans', scans, 'torn', torn, 'mixed', mixed); process.exit(0); } setImmediate(loop); })();
`;

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

interface Run {
  mixed: number;
  scans: number;
  lines: string[];
  /** The apply steps' `units swapped: …` notes. */
  swaps: string[];
}

async function run(reveal: 'unit' | 'file', deploys: number, sshd?: Sshd): Promise<Run> {
  const repo = makeRepo();
  const root = realpathSync(tempDir('diffship-reveal-'));
  cleanups.push(
    () => repo.cleanup(),
    () => rmSync(root, { recursive: true, force: true }),
  );
  const target = path.join(root, 't');
  mkdirSync(target);
  const config = resolveConfig(
    {
      mode: 'authoritative',
      units: { match: 'packages/*', reveal },
      targets: [sshd ? { name: 't', ...sshTargetConfig(sshd, target) } : { name: 't', path: target }],
    },
    { baseDir: root },
  );
  const shas: string[] = [];
  for (let v = 0; v < 2; v++) shas.push(repo.commit(tree(v), `v${v}`));
  const first = await deploy({ config, repo: repo.dir, to: shas[0] });
  expect(first.status).toBe('succeeded');
  const poller = spawn(process.execPath, ['-e', POLLER, path.join(target, 'packages/P')], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  poller.stdout.on('data', (b: Buffer) => (out += b.toString()));
  const exited = new Promise((r) => poller.once('exit', r));
  const swaps: string[] = [];
  for (let i = 1; i <= deploys; i++) {
    const r = await deploy({ config, repo: repo.dir, to: shas[i % 2]! });
    expect(r.status, JSON.stringify(r.targets[0]?.error)).toBe('succeeded');
    const apply = r.targets[0]!.steps.find((st) => st.name === 'apply')!.detail;
    swaps.push(/units swapped: (.*)$/.exec(apply)?.[1] ?? '');
    if (reveal === 'file' && out.includes('mixed')) break; // the control has made its point
  }
  poller.kill('SIGTERM');
  await exited;
  const m = /scans (\d+) torn (\d+) mixed (\d+)/.exec(out);
  expect(m, out).not.toBeNull();
  // The target ends whole, at the last release, with no staging left.
  expect(readFileSync(path.join(target, 'packages/P/ns/f0.json'), 'utf8')).toMatch(/^\{"v":[01]\}\n$/);
  expect(git(repo.dir, 'status', '--porcelain')).toBe('');
  return { scans: Number(m![1]), mixed: Number(m![3]), lines: out.split('\n'), swaps };
}

/** The two-rename swap's gaps, in ms, from the apply notes. */
const gaps = (swaps: string[]) =>
  swaps.flatMap((x) => [...x.matchAll(/renames ([\d.]+)ms/g)].map((m) => Number(m[1])));

describe('reveal: unit under a concurrent poller', () => {
  let sshd: Sshd | undefined;
  afterEach(async () => {
    delete process.env.DIFFSHIP_UNIT_SWAP;
    await sshd?.stop();
    sshd = undefined;
  });

  it(`never shows a mixed unit in ${DEPLOYS} deploys (local, renameat2 exchange)`, async () => {
    const r = await run('unit', DEPLOYS);
    expect(r.scans).toBeGreaterThan(100);
    expect(r.mixed, r.lines.join('\n')).toBe(0);
    expect(
      r.swaps.every((x) => x === 'packages/P (exchange)'),
      r.swaps.join('\n'),
    ).toBe(true);
  }, 600_000);

  it(`never shows a mixed unit over SSH (${Math.min(DEPLOYS, 10)} deploys, exchange through the remote shell)`, async () => {
    sshd = await startSshd();
    const r = await run('unit', Math.min(DEPLOYS, 10), sshd);
    expect(r.mixed, r.lines.join('\n')).toBe(0);
    expect(
      r.swaps.every((x) => x === 'packages/P (exchange)'),
      r.swaps.join('\n'),
    ).toBe(true);
  }, 600_000);

  it('two renames where there is no exchange: never mixed, the gap is measured', async () => {
    process.env.DIFFSHIP_UNIT_SWAP = 'renames';
    const r = await run('unit', DEPLOYS);
    expect(r.mixed, r.lines.join('\n')).toBe(0);
    const g = gaps(r.swaps);
    expect(g).toHaveLength(DEPLOYS);
    console.log(
      `two-rename gap over ${g.length} swaps: max ${Math.max(...g)} ms, median ${g.sort((a, b) => a - b)[g.length >> 1]} ms`,
    );
  }, 600_000);

  it('control: reveal: file does show mixed units to the same poller', async () => {
    const r = await run('file', DEPLOYS);
    expect(r.mixed).toBeGreaterThan(0);
  }, 600_000);
});
