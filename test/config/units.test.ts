import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { ConfigValidationError } from '../../src/config/problems.js';
import { expandPlaceholders } from '../../src/config/placeholders.js';
import { loadText, problemsOf, tempDir, testEnv } from './helpers.js';

const TARGETS = 'targets:\n  - { name: is1, path: ./t, vars: { admin: "5555" } }\n';

describe('units config', () => {
  it('fills the defaults', async () => {
    const { config } = await loadText(`units: { match: 'packages/*' }\n${TARGETS}`);
    expect(config.units).toEqual({
      match: ['packages/*'],
      depends: { kind: 'none' },
      provided: [],
      reloadDependents: false,
      reveal: 'file',
      verify: [],
    });
  });

  it('takes every key; webmethods provides Wm* by default', async () => {
    const { config } = await loadText(
      `units:
  match: ['packages/*']
  depends: webmethods
  reload-dependents: true
  reveal: unit
  activate: { remote: 'curl -X POST "http://localhost:{vars.admin}/admin/package/{unit}?action=reload"' }
  deactivate: { run: 'echo {unit.path} {unit.status}', timeout: 10s }
  verify:
    - http: { url: 'http://{host}:{vars.admin}/admin/package/{unit}', contains: '"loaded":"yes"' }
${TARGETS}`,
    );
    expect(config.units).toMatchObject({
      depends: { kind: 'webmethods' },
      provided: ['Wm*'],
      reloadDependents: true,
      reveal: 'unit',
      activate: { remote: expect.stringContaining('{unit}'), timeoutMs: 300_000 },
      deactivate: { run: 'echo {unit.path} {unit.status}', timeoutMs: 10_000 },
      verify: [
        { kind: 'http', url: 'http://{host}:{vars.admin}/admin/package/{unit}', contains: '"loaded":"yes"' },
      ],
    });
  });

  it.each([
    [`units: { depends: none }`, 'units.match: required: a glob like packages/* (each match is one unit)'],
    [
      `units: { match: 'p/*', depends: maven }`,
      'units.depends: expected none, webmethods or { file: deps.yml }',
    ],
    [`units: { match: 'p/*', reveal: folder }`, 'units.reveal'],
    [
      `units: { match: 'p/*', activate: { run: 'x {unit.nme}' }, verify: [{ command: { run: 'y {vars.nope}' } }] }`,
      'no var "nope"',
    ],
  ])('refuses %s', async (units, message) => {
    expect((await problemsOf(`${units}\n${TARGETS}`)).join('\n')).toContain(message);
  });

  it('refuses {unit} outside units', async () => {
    const problems = await problemsOf(
      `targets:\n  - { name: a, path: ./t, activate: { run: 'reload {unit}' } }\n`,
    );
    expect(problems.join('\n')).toContain(
      'placeholder {unit} works only in the hooks and checks of units (activate, deactivate, verify)',
    );
  });

  it('expands the unit placeholders', () => {
    const text = 'reload {unit} at {unit.path} ({unit.status}) on {name}';
    const ctx = {
      name: 'is1',
      host: 'h',
      path: '/p',
      vars: {},
      units: true,
      unit: { name: 'Orders', path: 'packages/Orders', status: 'updated' },
    };
    expect(expandPlaceholders(text, ctx)).toBe('reload Orders at packages/Orders (updated) on is1');
  });
});

describe('units depends: { file }', () => {
  async function load(deps: string): Promise<unknown> {
    const dir = await tempDir();
    await fs.writeFile(path.join(dir, 'deps.yml'), deps);
    await fs.writeFile(
      path.join(dir, 'diffship.yml'),
      `units: { match: 'packages/*', depends: { file: deps.yml } }\n${TARGETS}`,
    );
    try {
      return (await loadConfig(path.join(dir, 'diffship.yml'), { env: testEnv(dir) })).units;
    } catch (error) {
      if (error instanceof ConfigValidationError) return error.problems.map((p) => `${p.path}: ${p.message}`);
      throw error;
    }
  }

  it('reads the map', async () => {
    expect(await load('Orders: [Common]\nBilling: Orders\nCommon:\n')).toMatchObject({
      depends: {
        kind: 'file',
        file: 'deps.yml',
        graph: { Orders: ['Common'], Billing: ['Orders'], Common: [] },
      },
    });
  });

  it('a cycle is a config error naming it', async () => {
    expect(await load('A: [B]\nB: [C]\nC: [A]\n')).toEqual([
      'units.depends.file: deps.yml: dependency cycle A → B → C → A — a unit cannot be activated before itself; remove one of these dependencies',
    ]);
  });

  it('a bad shape or a missing file names the file', async () => {
    expect(await load('- A\n')).toEqual([
      'units.depends.file: deps.yml: expected a map of unit → [units it depends on]',
    ]);
    expect(await load('A: { b: 1 }\n')).toEqual([
      'units.depends.file: deps.yml: A: expected a list of unit names',
    ]);
  });
});
