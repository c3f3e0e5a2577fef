/**
 * Rollback per unit (docs/units.md#when-a-unit-fails), end to end with the real CLI and
 * the example package server: a release changes two packages, one loads `partial`.
 * Only that package goes back — its files before the deploy, byte for byte — and is
 * reloaded and verified; the other stays new and loaded. The state records the release
 * with the package held back, and the next deploy ships it again. Local and over SSH,
 * with `reveal: file` (file by file) and `reveal: unit` (the old folder swapped back).
 */
import { existsSync, mkdirSync } from 'node:fs';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { recordedFiles } from '../helpers/manifest.js';
import { manifest, PACKAGE_CTL, startPackageHost, type PackageHost } from '../helpers/package-host.js';
import { snapshot } from '../helpers/repo.js';
import { git } from '../helpers/git.js';
import { cli } from '../helpers/cli.js';
import { startSshd, type Sshd } from '../helpers/sshd.js';
import { Fleet, targetOf } from './e2e-fixture.js';

const DEPS: Record<string, string[]> = {
  Common: [],
  Orders: ['Common'],
  Billing: ['Orders'],
  Customers: ['Common'],
  Reports: [],
};

type Change = { version?: string; svc?: string; extra?: string };

/** The five packages at 1.0; `changes` gives some a version, a service text, an extra file. */
function packages(changes: Record<string, Change> = {}): Record<string, string> {
  const files: Record<string, string> = { 'README.md': 'not a unit\n' };
  for (const [name, requires] of Object.entries(DEPS)) {
    const c = changes[name] ?? {};
    const ns = `packages/${name}/ns/${name.toLowerCase()}`;
    files[`packages/${name}/manifest.v3`] = manifest(c.version ?? '1.0', requires);
    files[`${ns}/main.json`] = `{"service":"${name}.main"}\n`;
    files[`${ns}/svc.json`] = c.svc ?? `{"service":"${name}.svc"}\n`;
    if (c.extra) files[`${ns}/extra.json`] = c.extra;
  }
  return files;
}

/** Orders 1.1 is fine; Reports 2.0 has a broken service (loads `partial`) and a new file. */
const V2: Record<string, Change> = {
  Orders: { version: '1.1' },
  Reports: { version: '2.0', svc: '{"service": broken\n', extra: '{"service":"Reports.extra"}\n' },
};

const ctl = (action: string) =>
  `"${process.execPath}" "${PACKAGE_CTL}" --url http://127.0.0.1:{vars.admin} ${action} {unit}`;

let fleet: Fleet;
let is: PackageHost | undefined;
let sshd: Sshd | undefined;
afterEach(async () => {
  await is?.stop();
  is = undefined;
  await sshd?.stop();
  sshd = undefined;
  await fleet.cleanup();
});

async function setUp(
  reveal: 'file' | 'unit',
  ssh: boolean,
  top: Record<string, unknown> = {},
): Promise<void> {
  fleet = new Fleet();
  fleet.release('v1', packages());
  fleet.release('v2', packages(V2));
  fleet.release('v3', packages({ ...V2, Reports: { version: '2.1', extra: V2.Reports!.extra } }));
  mkdirSync(fleet.dir('is1'), { recursive: true });
  is = await startPackageHost(fleet.dir('is1'), ['--no-cascade']);
  if (ssh) sshd = await startSshd();
  const target = sshd
    ? {
        type: 'ssh',
        host: '127.0.0.1',
        port: sshd.port,
        user: sshd.user,
        'identity-file': sshd.identityFile,
        'known-hosts': path.join(sshd.dir, 'known_hosts'),
        path: fleet.dir('is1'),
      }
    : { path: './targets/is1' };
  fleet.writeConfig({
    ...top,
    source: 'workflows',
    mode: 'authoritative',
    units: {
      match: 'packages/*',
      depends: 'webmethods',
      reveal,
      activate: { run: ctl('reload') },
      verify: [
        {
          http: {
            url: 'http://127.0.0.1:{vars.admin}/admin/package/{unit}',
            contains: '"loaded":"yes"',
            timeout: '2s',
            interval: '100ms',
          },
        },
      ],
    },
    defaults: {
      verify: [
        { http: { url: 'http://127.0.0.1:{vars.admin}/admin/package/Orders', contains: '"loaded":"yes"' } },
      ],
    },
    targets: [{ name: 'is1', vars: { admin: String(is.port) }, ...target }],
  });
  const first = await fleet.deploy('v1');
  expect(first.code, first.stderr).toBe(0);
}

/** The files of `unit` in the target, and in release `tag`, as path → bytes. */
function unitFiles(unit: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [p, e] of Object.entries(snapshot(path.join(fleet.dir('is1'), 'packages', unit))))
    if (e.type === 'file') out[p] = e.content ?? '';
  return out;
}
function releaseFiles(tag: string, unit: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [p, text] of Object.entries(tag === 'v1' ? packages() : packages(V2)))
    if (p.startsWith(`packages/${unit}/`)) out[p.slice(`packages/${unit}/`.length)] = text;
  return out;
}

describe.each([
  { where: 'local', reveal: 'file' as const, ssh: false },
  { where: 'local', reveal: 'unit' as const, ssh: false },
  { where: 'SSH', reveal: 'unit' as const, ssh: true },
  { where: 'SSH', reveal: 'file' as const, ssh: true },
])('a unit that loads partial goes back by itself ($where, reveal: $reveal)', ({ reveal, ssh }) => {
  it('only it is restored, reloaded and verified; the other changed unit stays new; the next deploy ships it again', async () => {
    await setUp(reveal, ssh);
    const from = (await is!.events()).length;
    const r = await fleet.deploy('v2');
    expect(r.code, r.stderr).toBe(1);
    // The server's log: Orders reloaded once (new), Reports twice (new → partial, then old → yes).
    expect((await is!.events()).slice(from)).toEqual([
      'call reload Orders',
      'load Orders yes',
      'call reload Reports',
      'load Reports partial',
      'call reload Reports',
      'load Reports yes',
    ]);
    expect(await is!.json('/admin/package/Orders')).toMatchObject({ loaded: 'yes', version: '1.1' });
    expect(await is!.json('/admin/package/Reports')).toMatchObject({ loaded: 'yes', version: '1.0' });
    // Reports holds exactly its files of v1 (the added file gone); Orders and the rest hold v2.
    expect(unitFiles('Reports')).toEqual(releaseFiles('v1', 'Reports'));
    expect(unitFiles('Orders')).toEqual(releaseFiles('v2', 'Orders'));
    expect(readFileSync(path.join(fleet.dir('is1'), 'README.md'), 'utf8')).toBe('not a unit\n');

    const t = targetOf(r.report, 'is1');
    expect(t.status).toBe('rolled-back');
    expect(t.heldBack).toEqual(['Reports']);
    expect(t.error).toBe('activate Reports: run exited with code 1');
    expect(t.units!.map((u) => [u.name, u.result])).toEqual([
      ['Orders', 'activated'],
      ['Reports', 'rolled-back'],
    ]);
    const steps = t.steps.map((s) => `${s.name}${s.unit ? ` ${s.unit}` : ''}:${s.status}`);
    expect(steps.slice(steps.indexOf('apply:ok'))).toEqual([
      'apply:ok',
      'activate Orders:ok',
      'verify Orders:ok',
      'activate Reports:failed',
      'rollback Reports:ok',
      'activate Reports:ok',
      'verify Reports:ok',
      'verify:ok',
      'unlock:ok',
    ]);
    const rollback = t.steps.find((s) => s.name === 'rollback')!.detail;
    expect(rollback).toContain('units rolled back: Reports');
    if (reveal === 'unit') expect(rollback).toMatch(/units swapped: packages\/Reports \(exchange\)$/);

    // The state: release v2, Reports held back at v1, its manifest entries v1's blobs.
    const state = JSON.parse(readFileSync(path.join(fleet.dir('is1'), '.diffship/state.json'), 'utf8'));
    expect(state.release).toBe(git(fleet.repo.dir, 'rev-parse', 'v2^{commit}'));
    expect(state.heldBack).toEqual([
      { name: 'Reports', path: 'packages/Reports', release: git(fleet.repo.dir, 'rev-parse', 'v1^{commit}') },
    ]);
    const listed = recordedFiles(fleet.dir('is1'))!.filter((f) => f.path.startsWith('packages/Reports/'));
    expect(listed.map((f) => [f.path, f.blob])).toEqual(
      Object.keys(releaseFiles('v1', 'Reports'))
        .sort()
        .map((p) => [`packages/Reports/${p}`, fleet.blob('v1', `packages/Reports/${p}`)]),
    );
    expect(fleet.leftovers('is1')).toEqual([]);
    const status = cli(fleet.root, ['status', '--config', 'diffship.yml', '--repo', fleet.repo.dir]);
    expect(status.stdout).toContain('held back: unit Reports (packages/Reports) has its files of');

    // The next deploy ships Reports again (only it changes against what the target holds).
    const next = (await is!.events()).length;
    const r3 = await fleet.deploy('v3');
    expect(r3.code, r3.stderr).toBe(0);
    expect((await is!.events()).slice(next)).toEqual(['call reload Reports', 'load Reports yes']);
    expect(targetOf(r3.report, 'is1').note).toContain('held back');
    expect(await is!.json('/admin/package/Reports')).toMatchObject({ loaded: 'yes', version: '2.1' });
    expect(fleet.state('is1')).not.toHaveProperty('heldBack');
    expect(existsSync(path.join(fleet.dir('is1'), 'packages/Reports/ns/reports/extra.json'))).toBe(true);
  }, 120_000);
});

describe('rollback: all', () => {
  it('undoes the whole deploy of a target whose failed unit went back by itself', async () => {
    await setUp('file', false, { rollback: 'all' });
    const from = (await is!.events()).length;
    const r = await fleet.deploy('v2');
    expect(r.code, r.stderr).toBe(1);
    // Reports back by itself first; then `all` takes the whole deploy back and reloads Orders on 1.0.
    expect((await is!.events()).slice(from).filter((e) => e.startsWith('call'))).toEqual([
      'call reload Orders',
      'call reload Reports',
      'call reload Reports',
      'call reload Orders',
      'call reload Reports',
    ]);
    expect(await is!.json('/admin/package/Orders')).toMatchObject({ loaded: 'yes', version: '1.0' });
    const t = targetOf(r.report, 'is1');
    expect(t.status).toBe('rolled-back');
    expect(t.heldBack).toBeUndefined();
    expect(fleet.state('is1')?.release).toBe(git(fleet.repo.dir, 'rev-parse', 'v1^{commit}'));
    expect(fleet.state('is1')).not.toHaveProperty('heldBack');
    expect(unitFiles('Orders')).toEqual(releaseFiles('v1', 'Orders'));
  }, 120_000);
});
