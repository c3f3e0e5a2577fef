/**
 * The `units` section (docs/units.md): which folders or files are units, where
 * their dependencies come from, and the per-unit hooks and checks. A
 * `depends: { file }` map is read here, relative to the config file, so a cycle
 * in it is a config error; webmethods dependencies live in the release and are
 * checked when the release is known, before anything is written.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { checkGraph } from '../units/order.js';
import { describeError } from '../errors.js';
import { globsField, type ResolveContext } from './fields.js';
import { resolveCheck, resolveHook } from './hooks.js';
import type { PlaceholderTarget } from './placeholders.js';
import type { UnitsInput } from './schema.js';
import type { TargetConfig, UnitsConfig } from './types.js';

/** Dependencies a webMethods Integration Server ships itself. */
const WEBMETHODS_PROVIDED = ['Wm*'];

export function resolveUnits(
  ctx: ResolveContext,
  input: UnitsInput | undefined,
  targets: readonly TargetConfig[],
): UnitsConfig | undefined {
  if (input === undefined) return undefined;
  const match = globsField(ctx, input.match, ['units', 'match']);
  const dependsIn = input.depends ?? 'none';
  const provided =
    input.provided !== undefined
      ? globsField(ctx, input.provided, ['units', 'provided'])
      : dependsIn === 'webmethods'
        ? [...WEBMETHODS_PROVIDED]
        : [];
  const units: UnitsConfig = {
    match,
    depends:
      typeof dependsIn === 'object'
        ? { kind: 'file', file: dependsIn.file, graph: readDepsFile(ctx, dependsIn.file, provided) }
        : { kind: dependsIn },
    provided,
    reloadDependents: input['reload-dependents'] ?? false,
    reveal: input.reveal ?? 'file',
    verify: [],
  };
  // Placeholders are checked against every target (a {vars.X} must exist on each); the spec is one.
  const places: PlaceholderTarget[] = targets.length
    ? targets.map((t) => ({ name: t.name, port: t.port, vars: t.vars, units: true }))
    : [{ name: '', vars: {}, units: true }];
  for (const key of ['activate', 'deactivate'] as const) {
    const h = input[key];
    if (h === undefined) continue;
    for (const place of places) units[key] = resolveHook(ctx, h, ['units', key], place);
  }
  (input.verify ?? []).forEach((check, i) => {
    let spec: UnitsConfig['verify'][number] | undefined;
    for (const [j, place] of places.entries()) {
      const t = targets[j];
      spec = resolveCheck(ctx, check, ['units', 'verify', i], place, {
        host: t?.host ?? 'localhost',
        path: t?.path ?? '',
      });
    }
    if (spec) units.verify.push(spec);
  });
  return units;
}

/** `depends: { file }`: a YAML map unit → [units], relative to the config file. */
function readDepsFile(ctx: ResolveContext, file: string, provided: string[]): Record<string, string[]> {
  const at = ['units', 'depends', 'file'];
  const full = path.resolve(ctx.baseDir, file);
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(full, 'utf8'));
  } catch (error) {
    ctx.problems.add(at, `cannot read ${full}: ${describeError(error)}`);
    return {};
  }
  const graph: Record<string, string[]> = {};
  if (raw === null || raw === undefined) return graph;
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    ctx.problems.add(at, `${file}: expected a map of unit → [units it depends on]`);
    return graph;
  }
  for (const [unit, deps] of Object.entries(raw as Record<string, unknown>)) {
    const list = deps === null ? [] : typeof deps === 'string' ? [deps] : deps;
    if (!Array.isArray(list) || list.some((d) => typeof d !== 'string')) {
      ctx.problems.add(at, `${file}: ${unit}: expected a list of unit names`);
      continue;
    }
    graph[unit] = list as string[];
  }
  // A unit named only as a dependency is a unit too (with no dependencies of its own).
  const known = new Map(Object.entries(graph).map(([k, v]) => [k, v] as const));
  for (const deps of Object.values(graph)) for (const d of deps) if (!known.has(d)) known.set(d, []);
  try {
    checkGraph(known, provided, file);
  } catch (error) {
    ctx.problems.add(at, describeError(error));
  }
  return graph;
}
