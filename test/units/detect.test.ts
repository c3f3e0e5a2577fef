import { describe, expect, it } from 'vitest';
import { groupUnits, unitPathOf } from '../../src/units/detect.js';
import { planUnits } from '../../src/units/plan-units.js';

describe('unitPathOf', () => {
  it.each([
    ['packages/Orders/manifest.v3', ['packages/*'], 'packages/Orders'],
    ['packages/Orders/ns/orders/flow.xml', ['packages/*'], 'packages/Orders'],
    ['packages/Orders', ['packages/*'], 'packages/Orders'],
    ['README.md', ['packages/*'], null],
    ['other/Orders/x', ['packages/*'], null],
    ['carbonapps/orders_1.0.0.car', ['carbonapps/*.car'], 'carbonapps/orders_1.0.0.car'],
    ['carbonapps/notes.txt', ['carbonapps/*.car'], null],
    ['a/b/.hidden/x', ['a/b/*'], 'a/b/.hidden'],
    ['x/P/f', ['packages/*', 'x/*/'], 'x/P'],
  ])('%s in %j → %s', (path, match, expected) => {
    expect(unitPathOf(path, match)).toBe(expected);
  });

  it('groups files into units, sorted, leaving out files of no unit', () => {
    const units = groupUnits(['packages/B/x', 'top.txt', 'packages/A/y', 'packages/A/z'], ['packages/*']);
    expect([...units.values()]).toEqual([
      { name: 'A', path: 'packages/A', files: ['packages/A/y', 'packages/A/z'] },
      { name: 'B', path: 'packages/B', files: ['packages/B/x'] },
    ]);
  });
});

const match = ['packages/*'];
const files = (...names: string[]) =>
  names.flatMap((n) => [`packages/${n}/manifest.v3`, `packages/${n}/ns/a.xml`]);

describe('planUnits', () => {
  const graph = new Map([
    ['Common', []],
    ['Orders', ['Common']],
    ['Billing', ['Orders']],
    ['Reports', []],
  ]);
  const base = {
    match,
    toFiles: files('Common', 'Orders', 'Billing', 'Reports'),
    fromFiles: files('Common', 'Orders', 'Billing', 'Reports', 'Legacy', 'Old'),
    graph,
    fromGraph: new Map([...graph, ['Legacy', ['Old']], ['Old', []]]),
    reloadDependents: false,
  };

  it.each([
    ['nothing changed', [], [], [], []],
    ['a file outside every unit', ['README.md'], [], [], []],
    ['an update', ['packages/Orders/ns/a.xml'], [], [['Orders', 'updated']], []],
    [
      'two units in dependency order',
      ['packages/Orders/ns/a.xml', 'packages/Common/manifest.v3'],
      [],
      [
        ['Common', 'updated'],
        ['Orders', 'updated'],
      ],
      [],
    ],
    [
      'deleted units, dependents first',
      [],
      ['packages/Old/ns/a.xml', 'packages/Old/manifest.v3', 'packages/Legacy/manifest.v3'],
      [],
      [
        ['Legacy', 'deleted'],
        ['Old', 'deleted'],
      ],
    ],
  ])('%s', (_, writes, deletes, activate, deactivate) => {
    const p = planUnits({ ...base, writes, deletes });
    expect(p.activate.map((u) => [u.name, u.status])).toEqual(activate);
    expect(p.deactivate.map((u) => [u.name, u.status])).toEqual(deactivate);
  });

  it('an added unit, its changed files listed; dependents marked when reloaded', () => {
    const p = planUnits({
      ...base,
      fromFiles: files('Orders', 'Billing', 'Reports'),
      writes: ['packages/Common/ns/a.xml', 'packages/Common/manifest.v3'],
      deletes: [],
      reloadDependents: true,
    });
    expect(p.activate).toEqual([
      {
        name: 'Common',
        path: 'packages/Common',
        status: 'added',
        files: ['packages/Common/manifest.v3', 'packages/Common/ns/a.xml'],
      },
      { name: 'Orders', path: 'packages/Orders', status: 'dependent', files: [] },
      { name: 'Billing', path: 'packages/Billing', status: 'dependent', files: [] },
    ]);
  });

  it('without the old release, a unit whose every file is written counts as added', () => {
    const p = planUnits({ ...base, fromFiles: null, writes: files('Reports'), deletes: [] });
    expect(p.activate.map((u) => u.status)).toEqual(['added']);
    const q = planUnits({ ...base, fromFiles: null, writes: ['packages/Reports/ns/a.xml'], deletes: [] });
    expect(q.activate.map((u) => u.status)).toEqual(['updated']);
  });
});
