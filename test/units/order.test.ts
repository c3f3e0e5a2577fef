import { describe, expect, it } from 'vitest';
import {
  activationOrder,
  checkGraph,
  deactivationOrder,
  dependentsOf,
  findCycle,
  missingDependencies,
  topologicalOrder,
  type DependencyGraph,
} from '../../src/units/order.js';

const g = (o: Record<string, string[]>): DependencyGraph => new Map(Object.entries(o));

// Common ← Orders ← Billing; Common ← Customers; Reports alone.
const FIVE = g({ Common: [], Orders: ['Common'], Billing: ['Orders'], Customers: ['Common'], Reports: [] });

describe('topologicalOrder', () => {
  it.each([
    ['no units', {}, []],
    ['independent units by name', { B: [], A: [], C: [] }, ['A', 'B', 'C']],
    ['dependencies first', { A: ['B'], B: ['C'], C: [] }, ['C', 'B', 'A']],
    ['diamond', { D: ['B', 'C'], B: ['A'], C: ['A'], A: [] }, ['A', 'B', 'C', 'D']],
    ['outside dependencies ignored', { A: ['WmPublic'] }, ['A']],
  ])('%s', (_, graph, expected) => {
    expect(topologicalOrder(g(graph))).toEqual(expected);
  });
});

describe('findCycle', () => {
  it.each([
    ['none', { A: ['B'], B: [] }, null],
    ['self', { A: ['A'] }, ['A', 'A']],
    ['two', { A: ['B'], B: ['A'] }, ['A', 'B', 'A']],
    ['three behind a tail', { X: ['A'], A: ['B'], B: ['C'], C: ['A'] }, ['A', 'B', 'C', 'A']],
  ])('%s', (_, graph, expected) => {
    expect(findCycle(g(graph))).toEqual(expected);
  });
});

describe('checkGraph', () => {
  it('names the cycle', () => {
    expect(() => checkGraph(g({ A: ['B'], B: ['A'] }), [], 'deps.yml')).toThrow(
      'deps.yml: dependency cycle A → B → A',
    );
  });
  it('names each unit and the dependency the release lacks', () => {
    expect(() => checkGraph(g({ A: ['Gone', 'WmPublic'], B: ['Nope'] }), ['Wm*'], 'release abc')).toThrow(
      'release abc: A requires Gone, B requires Nope, which the release does not hold',
    );
  });
  it('accepts provided dependencies', () => {
    expect(missingDependencies(g({ A: ['WmPublic', 'WmART'] }), ['Wm*'])).toEqual([]);
    expect(() => checkGraph(FIVE, [], 'r')).not.toThrow();
  });
});

describe('activation and deactivation order', () => {
  it.each([
    ['one changed unit alone', ['Orders'], false, [['Orders', 'changed']]],
    [
      'changed units in dependency order, not input order',
      ['Billing', 'Common'],
      false,
      [
        ['Common', 'changed'],
        ['Billing', 'changed'],
      ],
    ],
    [
      'dependents reloaded after the changed unit',
      ['Orders'],
      true,
      [
        ['Orders', 'changed'],
        ['Billing', 'dependent'],
      ],
    ],
    [
      'all transitive dependents of the root',
      ['Common'],
      true,
      [
        ['Common', 'changed'],
        ['Customers', 'dependent'],
        ['Orders', 'dependent'],
        ['Billing', 'dependent'],
      ],
    ],
    ['a unit with no dependents', ['Reports'], true, [['Reports', 'changed']]],
  ])('%s', (_, changed, reload, expected) => {
    expect(activationOrder(FIVE, changed, reload).map((u) => [u.name, u.reason])).toEqual(expected);
  });

  it('dependentsOf does not include the changed units themselves', () => {
    expect([...dependentsOf(FIVE, ['Orders', 'Billing'])]).toEqual([]);
  });

  it('deactivates dependents first (reverse of activation)', () => {
    expect(deactivationOrder(FIVE, ['Common', 'Billing', 'Orders'])).toEqual(['Billing', 'Orders', 'Common']);
    expect(deactivationOrder(new Map(), ['B', 'A'])).toEqual(['B', 'A']);
  });
});
