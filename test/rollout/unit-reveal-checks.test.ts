/**
 * `reveal: unit` checks beyond the swap itself: the files hard-linked from the live unit
 * are hashed against their blobs before the swap (a file changed by hand stops the
 * deploy, undone), and a unit the release deletes leaves in one rename — a scanner
 * looking at the unit folder sees it whole or absent, never half-deleted.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { deploy } from '../../src/api.js';
import { resolveConfig } from '../../src/config/resolve.js';
import { makeRepo } from '../helpers/repo.js';
import { tempDir } from '../helpers/git.js';

const FILES = 40;
const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

function setUp(reveal: 'unit' | 'file', mode: 'additive' | 'authoritative' = 'authoritative') {
  const repo = makeRepo();
  const root = realpathSync(tempDir('diffship-reveal-checks-'));
  cleanups.push(
    () => repo.cleanup(),
    () => rmSync(root, { recursive: true, force: true }),
  );
  const target = path.join(root, 't');
  mkdirSync(target);
  const config = resolveConfig(
    { mode, units: { match: 'packages/*', reveal }, targets: [{ name: 't', path: target }] },
    { baseDir: root },
  );
  return { repo, target, config };
}

describe('reveal: unit, every blob of the built unit', () => {
  it.each(['unit', 'file'] as const)(
    'a hand-changed file the release keeps: reveal %s',
    async (reveal) => {
      // Additive, drift-scope changes: the plan looks only at a.json, so b.json reaches the reveal.
      const { repo, target, config } = setUp(reveal, 'additive');
      const v0 = repo.commit({ 'packages/P/a.json': '{"a":0}\n', 'packages/P/b.json': '{"b":0}\n' }, 'v0');
      const v1 = repo.commit({ 'packages/P/a.json': '{"a":1}\n', 'packages/P/b.json': '{"b":0}\n' }, 'v1');
      expect((await deploy({ config, repo: repo.dir, to: v0 })).status).toBe('succeeded');
      writeFileSync(path.join(target, 'packages/P/b.json'), '{"b":"by hand"}\n');
      const r = await deploy({ config, repo: repo.dir, to: v1 });
      const a = readFileSync(path.join(target, 'packages/P/a.json'), 'utf8');
      if (reveal === 'file') {
        // Per-file reveal leaves an unchanged file as it is (drift-scope: changes).
        expect(r.status).toBe('succeeded');
        expect(a).toBe('{"a":1}\n');
        return;
      }
      expect(r.status).toBe('failed');
      expect(r.targets[0]!.error).toMatch(
        /packages\/P\/b\.json \(unchanged by the release, kept from the live unit\) does not match blob [0-9a-f]{40}: it was changed on the target/,
      );
      // Undone at once: the unit is its old version, the hand-made change untouched.
      expect(a).toBe('{"a":0}\n');
      expect(readFileSync(path.join(target, 'packages/P/b.json'), 'utf8')).toBe('{"b":"by hand"}\n');
    },
    60_000,
  );
});

/** Scans packages/P by path until SIGTERM; counts scans that see it partly there. */
const POLLER = `
const fs = require('node:fs'); const dir = process.argv[1]; const want = Number(process.argv[2]);
let scans = 0, partial = 0, absent = 0, stop = false;
process.on('SIGTERM', () => { stop = true; });
function scan() {
  let names; try { names = fs.readdirSync(dir + '/ns'); } catch { absent++; return; }
  let manifest = true; try { fs.statSync(dir + '/manifest.v3'); } catch { manifest = false; }
  // Gone between the two reads: the scan straddled the one rename (absent, not half-deleted).
  if (!manifest && !fs.existsSync(dir)) { absent++; return; }
  scans++;
  if (names.length !== want || !manifest) { partial++; if (partial <= 3) console.log('partial', names.length, manifest); }
}
(function loop() { const end = Date.now() + 20; while (Date.now() < end) scan(); if (stop) { console.log('scans', scans, 'absent', absent, 'partial', partial); process.exit(0); } setImmediate(loop); })();
`;

describe('reveal: unit, a unit the release deletes', () => {
  it('leaves in one rename: a scanner sees it whole or absent, over 10 add/delete deploys', async () => {
    const { repo, target, config } = setUp('unit');
    const withP: Record<string, string> = {
      'packages/Q/manifest.v3': 'q\n',
      'packages/P/manifest.v3': 'p\n',
    };
    for (let i = 0; i < FILES; i++) withP[`packages/P/ns/f${i}.json`] = `{"f":${i}}\n`;
    const a = repo.commit(withP, 'with P');
    const b = repo.commit({ 'packages/Q/manifest.v3': 'q\n' }, 'without P');
    expect((await deploy({ config, repo: repo.dir, to: a })).status).toBe('succeeded');
    const poller = spawn(process.execPath, ['-e', POLLER, path.join(target, 'packages/P'), String(FILES)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    poller.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise((r) => poller.once('exit', r));
    const how: string[] = [];
    for (let i = 0; i < 10; i++) {
      const r = await deploy({ config, repo: repo.dir, to: i % 2 === 0 ? b : a });
      expect(r.status).toBe('succeeded');
      how.push(
        /units swapped: (.*)$/.exec(r.targets[0]!.steps.find((s) => s.name === 'apply')!.detail)?.[1] ?? '',
      );
    }
    poller.kill('SIGTERM');
    await exited;
    const m = /scans (\d+) absent (\d+) partial (\d+)/.exec(out);
    expect(m, out).not.toBeNull();
    expect(Number(m![1])).toBeGreaterThan(0);
    expect(Number(m![2])).toBeGreaterThan(0);
    expect(Number(m![3]), out).toBe(0);
    expect(
      how.filter((_, i) => i % 2 === 0).every((x) => x === 'packages/P (removed)'),
      how.join('\n'),
    ).toBe(true);
    expect(
      how.filter((_, i) => i % 2 === 1).every((x) => x === 'packages/P (new)'),
      how.join('\n'),
    ).toBe(true);
  }, 120_000);
});
