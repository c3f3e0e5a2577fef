/**
 * Units end to end: the real CLI deploys webMethods-style packages to a folder
 * served by the example package server; per-unit hooks call its admin API and
 * its log gives the exact order of calls.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { manifest, PACKAGE_CTL, startPackageHost, type PackageHost } from '../helpers/package-host.js';
import { git } from '../helpers/git.js';
import { Fleet, targetOf } from './e2e-fixture.js';

const DEPS: Record<string, string[]> = {
  Common: [],
  Orders: ['Common', 'WmPublic'],
  Billing: ['Orders'],
  Customers: ['Common'],
  Reports: [],
};

/** The five packages at `version`; `changes` overrides some packages' versions or service text. */
function packages(
  version: string,
  changes: Record<string, { version?: string; svc?: string; requires?: string[] }> = {},
) {
  const files: Record<string, string> = { 'README.md': 'not a unit\n' };
  for (const [name, requires] of Object.entries(DEPS)) {
    const c = changes[name] ?? {};
    files[`packages/${name}/manifest.v3`] = manifest(c.version ?? version, c.requires ?? requires);
    files[`packages/${name}/ns/${name.toLowerCase()}/main.json`] = `{"service":"${name}.main"}\n`;
    files[`packages/${name}/ns/${name.toLowerCase()}/svc.json`] = c.svc ?? `{"service":"${name}.svc"}\n`;
  }
  return files;
}

const ctl = (action: string) =>
  `"${process.execPath}" "${PACKAGE_CTL}" --url http://127.0.0.1:{vars.admin} ${action} {unit}`;

let fleet: Fleet;
let is: PackageHost;

beforeEach(async () => {
  fleet = new Fleet();
  fleet.release('v1', packages('1.0'));
});
afterEach(async () => {
  await is?.stop();
  await fleet.cleanup();
});

function config(units: Record<string, unknown>, port: number, top: Record<string, unknown> = {}) {
  fleet.writeConfig({
    ...top,
    source: 'workflows',
    units: {
      match: 'packages/*',
      depends: 'webmethods',
      activate: { run: ctl('reload') },
      deactivate: { remote: `test -f packages/{unit}/manifest.v3 && ${ctl('disable')}` },
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
      ...units,
    },
    targets: [{ name: 'is1', path: './targets/is1', vars: { admin: String(port) } }],
  });
}

async function firstDeploy(args: string[] = ['--no-cascade']) {
  const { mkdirSync } = await import('node:fs');
  mkdirSync(fleet.dir('is1'), { recursive: true });
  is = await startPackageHost(fleet.dir('is1'), args);
  config({}, is.port);
  const r = await fleet.deploy('v1');
  expect(r.code, r.stderr).toBe(0);
  return r;
}

describe('units with the example package server', () => {
  it('activates every package of a first deploy in dependency order, each verified', async () => {
    const r = await firstDeploy();
    expect(await is.events()).toEqual([
      'call reload Common',
      'load Common yes',
      'call reload Customers',
      'load Customers yes',
      'call reload Orders',
      'load Orders yes',
      'call reload Billing',
      'load Billing yes',
      'call reload Reports',
      'load Reports yes',
    ]);
    const t = targetOf(r.report, 'is1');
    expect(t.units?.map((u) => [u.name, u.status, u.result])).toEqual([
      ['Common', 'added', 'activated'],
      ['Customers', 'added', 'activated'],
      ['Orders', 'added', 'activated'],
      ['Billing', 'added', 'activated'],
      ['Reports', 'added', 'activated'],
    ]);
    expect(
      t.steps
        .filter((s) => s.unit)
        .map((s) => `${s.name} ${s.unit}`)
        .slice(0, 4),
    ).toEqual(['activate Common', 'verify Common', 'activate Customers', 'verify Customers']);
  });

  it('a release changing two of five packages reloads only those two, dependency first', async () => {
    await firstDeploy();
    const from = (await is.events()).length;
    fleet.release('v2', packages('1.0', { Billing: { version: '1.1' }, Orders: { version: '1.1' } }));
    const r = await fleet.deploy('v2');
    expect(r.code, r.stderr).toBe(0);
    expect((await is.events()).slice(from)).toEqual([
      'call reload Orders',
      'load Orders yes',
      'call reload Billing',
      'load Billing yes',
    ]);
    expect(await is.json('/admin/package/Billing')).toMatchObject({ loaded: 'yes', version: '1.1' });
    const units = targetOf(r.report, 'is1').units!;
    expect(units.map((u) => [u.name, u.status, u.files])).toEqual([
      ['Orders', 'updated', ['packages/Orders/manifest.v3']],
      ['Billing', 'updated', ['packages/Billing/manifest.v3']],
    ]);
  });

  it('diffship rollback restores the files and reloads the units they belong to, in order', async () => {
    await firstDeploy();
    fleet.release('v2', packages('1.0', { Billing: { version: '1.1' }, Orders: { version: '1.1' } }));
    expect((await fleet.deploy('v2')).code).toBe(0);
    const from = (await is.events()).length;
    const r = await fleet.start('rollback', []).done;
    expect(r.code, r.stderr).toBe(0);
    expect((await is.events()).slice(from)).toEqual([
      'call reload Orders',
      'load Orders yes',
      'call reload Billing',
      'load Billing yes',
    ]);
    expect(await is.json('/admin/package/Billing')).toMatchObject({ loaded: 'yes', version: '1.0' });
    expect(targetOf(r.report, 'is1').units!.map((u) => [u.name, u.result])).toEqual([
      ['Orders', 'activated'],
      ['Billing', 'activated'],
    ]);
  });

  it('reload-dependents: a changed package, then every package depending on it, in order', async () => {
    await firstDeploy();
    config({ 'reload-dependents': true }, is.port);
    const from = (await is.events()).length;
    fleet.release('v2', packages('1.0', { Common: { version: '1.1' } }));
    const r = await fleet.deploy('v2');
    expect(r.code, r.stderr).toBe(0);
    expect((await is.events()).slice(from).filter((e) => e.startsWith('call'))).toEqual([
      'call reload Common',
      'call reload Customers',
      'call reload Orders',
      'call reload Billing',
    ]);
    expect(targetOf(r.report, 'is1').units!.map((u) => `${u.name}:${u.status}`)).toEqual([
      'Common:updated',
      'Customers:dependent',
      'Orders:dependent',
      'Billing:dependent',
    ]);
  });

  it('a package that loads partial is rolled back by itself: old files back, reloaded, verified', async () => {
    await firstDeploy();
    const from = (await is.events()).length;
    const before = readFileSync(path.join(fleet.dir('is1'), 'packages/Reports/ns/reports/svc.json'), 'utf8');
    fleet.release('v2', packages('1.0', { Reports: { version: '2.0', svc: '{"service": broken\n' } }));
    const r = await fleet.deploy('v2');
    expect(r.code).not.toBe(0);
    expect((await is.events()).slice(from)).toEqual([
      'call reload Reports',
      'load Reports partial',
      'call reload Reports',
      'load Reports yes',
    ]);
    const t = targetOf(r.report, 'is1');
    expect(t.status).toBe('rolled-back');
    expect(t.units!.map((u) => [u.name, u.result])).toEqual([['Reports', 'rolled-back']]);
    expect(t.error).toBe('activate Reports: run exited with code 1');
    expect(readFileSync(path.join(fleet.dir('is1'), 'packages/Reports/ns/reports/svc.json'), 'utf8')).toBe(
      before,
    );
    expect(await is.json('/admin/package/Reports')).toMatchObject({ loaded: 'yes', version: '1.0' });
    // The target holds v2 with Reports held back at v1 (test/rollout/unit-rollback.test.ts has more).
    expect(t.heldBack).toEqual(['Reports']);
    expect(fleet.state('is1')?.release).toBe(git(fleet.repo.dir, 'rev-parse', 'v2^{commit}'));
  });

  it('a deleted package is deactivated while its files are still there, dependents first', async () => {
    await firstDeploy();
    const from = (await is.events()).length;
    const files = packages('1.0');
    for (const k of Object.keys(files))
      if (k.includes('/Billing/') || k.includes('/Orders/')) delete files[k];
    fleet.release('v2', files);
    config({}, is.port, { mode: 'authoritative' });
    const r = await fleet.deploy('v2');
    expect(r.code, r.stderr).toBe(0);
    expect((await is.events()).slice(from)).toEqual(['call disable Billing', 'call disable Orders']);
    expect(existsSync(path.join(fleet.dir('is1'), 'packages/Orders'))).toBe(false);
    expect(targetOf(r.report, 'is1').units!.map((u) => [u.name, u.status, u.result])).toEqual([
      ['Billing', 'deleted', 'deactivated'],
      ['Orders', 'deleted', 'deactivated'],
    ]);
  });

  it('planned from the manifest (the recorded commit is gone): unit statuses and deactivation order still hold', async () => {
    await firstDeploy();
    const from = (await is.events()).length;
    // v2 drops Common and everything needing it, and changes every file of Reports.
    const files = packages('1.0', { Reports: { version: '2.0', svc: '{"service":"Reports.svc2"}\n' } });
    files['packages/Reports/ns/reports/main.json'] = '{"service":"Reports.main2"}\n';
    for (const k of Object.keys(files))
      if (['Common', 'Customers', 'Orders', 'Billing'].some((n) => k.includes(`/${n}/`))) delete files[k];
    fleet.release('v2', files);
    // The recorded commit's object goes (force-push + gc would do it); its trees and blobs stay.
    const v1 = git(fleet.repo.dir, 'rev-parse', 'v1^{commit}');
    rmSync(path.join(fleet.repo.dir, '.git/objects', v1.slice(0, 2), v1.slice(2)));
    config({}, is.port, { mode: 'authoritative' });
    const r = await fleet.deploy('v2');
    expect(r.code, r.stderr).toBe(0);
    const t = targetOf(r.report, 'is1');
    expect(t.note).toMatch(/planned from the manifest: release [0-9a-f]+ is not in this repository/);
    // Dependents first (from the old manifest.v3s, found by their blob ids): Common goes last.
    expect((await is.events()).slice(from).filter((e) => e.startsWith('call'))).toEqual([
      'call disable Billing',
      'call disable Orders',
      'call disable Customers',
      'call disable Common',
      'call reload Reports',
    ]);
    expect(t.units!.map((u) => [u.name, u.status])).toEqual([
      ['Billing', 'deleted'],
      ['Orders', 'deleted'],
      ['Customers', 'deleted'],
      ['Common', 'deleted'],
      ['Reports', 'updated'],
    ]);
  });

  it('reveal: unit — a deleted package is deactivated with its files there, then its folder leaves at once', async () => {
    await firstDeploy();
    const from = (await is.events()).length;
    const files = packages('1.0');
    for (const k of Object.keys(files))
      if (k.includes('/Billing/') || k.includes('/Orders/')) delete files[k];
    fleet.release('v2', files);
    config({ reveal: 'unit' }, is.port, { mode: 'authoritative' });
    const r = await fleet.deploy('v2');
    expect(r.code, r.stderr).toBe(0);
    // `disable` is called only when the package's manifest.v3 is still there (the hook tests it).
    expect((await is.events()).slice(from)).toEqual(['call disable Billing', 'call disable Orders']);
    const apply = targetOf(r.report, 'is1').steps.find((s) => s.name === 'apply')!.detail;
    expect(apply).toMatch(/units swapped: packages\/Billing \(removed\), packages\/Orders \(removed\)$/);
    expect(existsSync(path.join(fleet.dir('is1'), 'packages/Orders'))).toBe(false);
    expect(existsSync(path.join(fleet.dir('is1'), 'packages/Billing'))).toBe(false);
    expect(fleet.leftovers('is1')).toEqual([]);
  });

  it.each([
    [
      'a cycle',
      { Common: { requires: ['Reports'] }, Reports: { requires: ['Billing'] } },
      /dependency cycle Billing → Orders → Common → Reports → Billing/,
    ],
    [
      'a missing package',
      { Reports: { requires: ['Archive'] } },
      /Reports requires Archive, which the release does not hold/,
    ],
  ])('%s in the release fails the plan before anything is written', async (_, changes, message) => {
    await firstDeploy();
    const before = fleet.tree('is1');
    const from = (await is.events()).length;
    fleet.release('v2', packages('1.0', changes));
    const r = await fleet.deploy('v2');
    expect(r.code).not.toBe(0);
    const t = targetOf(r.report, 'is1');
    expect(t.status).toBe('failed');
    expect(t.error).toMatch(message);
    expect(fleet.tree('is1')).toEqual(before);
    expect((await is.events()).slice(from)).toEqual([]);
  });

  it('DIFFSHIP_UNITS lists the changed units with their files; plan shows the order without running hooks', async () => {
    await firstDeploy();
    fleet.release('v2', packages('1.0', { Orders: { version: '1.1' }, Common: { version: '1.1' } }));
    config({ activate: { run: 'cp "$DIFFSHIP_UNITS" units-$DIFFSHIP_UNIT.json' } }, is.port);
    const plan = await fleet.start('plan', ['--to', 'v2']).done;
    expect(targetOf(plan.report, 'is1').units!.map((u) => `${u.name}:${u.result}`)).toEqual([
      'Common:planned',
      'Orders:planned',
    ]);
    const r = await fleet.deploy('v2');
    expect(r.code, r.stderr).toBe(0);
    const listed = JSON.parse(readFileSync(path.join(fleet.root, 'units-Orders.json'), 'utf8'));
    expect(listed).toEqual({
      target: 'is1',
      deactivate: [],
      activate: [
        {
          name: 'Common',
          path: 'packages/Common',
          status: 'updated',
          files: ['packages/Common/manifest.v3'],
        },
        {
          name: 'Orders',
          path: 'packages/Orders',
          status: 'updated',
          files: ['packages/Orders/manifest.v3'],
        },
      ],
    });
  });
});

describe('the example package server', () => {
  it('keeps a package copied in without activation inactive; activate loads it', async () => {
    await firstDeploy();
    const { cpSync } = await import('node:fs');
    cpSync(path.join(fleet.dir('is1'), 'packages/Reports'), path.join(fleet.dir('is1'), 'packages/Extra'), {
      recursive: true,
    });
    expect(await is.json('/admin/package/Extra')).toMatchObject({ loaded: 'no', inactive: true });
    await fetch(`${is.url}/admin/package/Extra?action=activate`, { method: 'POST' });
    expect(await is.json('/admin/package/Extra')).toMatchObject({ loaded: 'yes', version: '1.0' });
  });

  it('reload cascades to dependents in dependency order unless --no-cascade', async () => {
    await firstDeploy([]);
    const from = (await is.events()).length;
    await fetch(`${is.url}/admin/package/Common?action=reload`, { method: 'POST' });
    expect((await is.events()).slice(from)).toEqual([
      'call reload Common',
      'load Common yes',
      'load Customers yes',
      'load Orders yes',
      'load Billing yes',
    ]);
  });
});
