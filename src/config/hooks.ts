/**
 * A target's hooks and checks: `defaults` merged in (the target's own hook or
 * verify list replaces the default one as a whole), defaults applied, and
 * placeholders checked against this target. Placeholders stay in the strings:
 * the rollout expands them when the release is known.
 */
import { DEFAULTS } from './defaults.js';
import { durationField, portField, type ResolveContext } from './fields.js';
import {
  checkPlaceholders,
  expandPlaceholders,
  findPlaceholders,
  type PlaceholderTarget,
} from './placeholders.js';
import { formatKeyPath, type KeyPath } from './problems.js';
import type { CheckInput, HookInput, TargetInput } from './schema.js';
import type { CheckSpec, HookSpec, TargetHooks } from './types.js';
import { shown } from './zod-issues.js';

type HookKeys = Pick<TargetInput, 'before' | 'activate' | 'verify' | 'after'>;

/** Where the target is, for a tcp check's default host and placeholders in its port. */
interface TargetPlace {
  host: string;
  path: string;
}

function placeholders(
  ctx: ResolveContext,
  text: string | undefined,
  at: KeyPath,
  target: PlaceholderTarget,
): void {
  if (text === undefined) return;
  for (const problem of checkPlaceholders(text, formatKeyPath(at), target))
    ctx.problems.add(at, problem.message);
}

/**
 * The hooks of target `t` (at `targets[i]`), with `defaults` merged in.
 * Problems found in a default hook name the `defaults.…` key path.
 */
export function resolveHooks(
  ctx: ResolveContext,
  t: HookKeys,
  at: KeyPath,
  defaults: HookKeys,
  target: PlaceholderTarget,
  place: TargetPlace,
): TargetHooks {
  const hooks: TargetHooks = { verify: [] };
  for (const key of ['before', 'activate', 'after'] as const) {
    const own = t[key];
    const hook = own ?? defaults[key];
    if (hook === undefined) continue;
    hooks[key] = resolveHook(ctx, hook, own !== undefined ? [...at, key] : ['defaults', key], target);
  }
  // The target's list replaces the defaults' list, so `verify: []` opts a target out.
  const checks = t.verify ?? defaults.verify ?? [];
  const checksAt: KeyPath = t.verify !== undefined ? [...at, 'verify'] : ['defaults', 'verify'];
  checks.forEach((check, i) => {
    const spec = resolveCheck(ctx, check, [...checksAt, i], target, place);
    if (spec) hooks.verify.push(spec);
  });
  return hooks;
}

export function resolveHook(
  ctx: ResolveContext,
  h: HookInput,
  at: KeyPath,
  target: PlaceholderTarget,
): HookSpec {
  if (h.run === undefined && h.remote === undefined && h.settle === undefined) {
    ctx.problems.add(at, 'expected run, remote or settle');
  }
  placeholders(ctx, h.run, [...at, 'run'], target);
  placeholders(ctx, h.remote, [...at, 'remote'], target);
  const spec: HookSpec = {
    timeoutMs: durationField(ctx, h.timeout, [...at, 'timeout'], DEFAULTS.hook.timeout, true),
    settleMs: durationField(ctx, h.settle, [...at, 'settle'], DEFAULTS.hook.settle, false),
  };
  if (h.run !== undefined) spec.run = h.run;
  if (h.remote !== undefined) spec.remote = h.remote;
  return spec;
}

export function resolveCheck(
  ctx: ResolveContext,
  c: CheckInput,
  at: KeyPath,
  target: PlaceholderTarget,
  place: TargetPlace,
): CheckSpec | undefined {
  if (c.http) return httpCheck(ctx, c.http, [...at, 'http'], target);
  if (c.tcp) return tcpCheck(ctx, c.tcp, [...at, 'tcp'], target, place);
  if (c.command) {
    const k = c.command;
    const kAt: KeyPath = [...at, 'command'];
    if ((k.run === undefined) === (k.remote === undefined))
      ctx.problems.add(kAt, 'expected run or remote (one of them)');
    placeholders(ctx, k.run, [...kAt, 'run'], target);
    placeholders(ctx, k.remote, [...kAt, 'remote'], target);
    const spec: CheckSpec = {
      kind: 'command',
      intervalMs: durationField(ctx, k.interval, [...kAt, 'interval'], DEFAULTS.command.interval, true),
      timeoutMs: durationField(ctx, k.timeout, [...kAt, 'timeout'], DEFAULTS.command.timeout, true),
    };
    if (k.run !== undefined) spec.run = k.run;
    if (k.remote !== undefined) spec.remote = k.remote;
    return spec;
  }
  return undefined;
}

function httpCheck(
  ctx: ResolveContext,
  h: NonNullable<CheckInput['http']>,
  at: KeyPath,
  target: PlaceholderTarget,
): CheckSpec {
  placeholders(ctx, h.url, [...at, 'url'], target);
  if (!/^https?:\/\//i.test(h.url) && !h.url.startsWith('{')) {
    ctx.problems.add([...at, 'url'], `expected an http:// or https:// URL (got ${shown(h.url)})`);
  }
  const headers = h.headers ?? {};
  for (const [name, value] of Object.entries(headers))
    placeholders(ctx, value, [...at, 'headers', name], target);
  placeholders(ctx, h.contains, [...at, 'contains'], target);
  placeholders(ctx, h.matches, [...at, 'matches'], target);
  if (h.matches !== undefined) {
    // Compile now with placeholders stood in for, so a broken pattern fails before any deploy.
    let pattern = h.matches;
    for (const found of findPlaceholders(pattern)) pattern = pattern.split(found.token).join('x');
    try {
      new RegExp(pattern);
    } catch (error) {
      ctx.problems.add([...at, 'matches'], `expected a regular expression (${(error as Error).message})`);
    }
  }
  const method = (h.method ?? DEFAULTS.http.method).toUpperCase();
  if (!/^[A-Z]+$/.test(method))
    ctx.problems.add([...at, 'method'], `expected an HTTP method like GET (got ${shown(h.method)})`);
  const spec: CheckSpec = {
    kind: 'http',
    url: h.url,
    method,
    headers,
    status: statusField(ctx, h.status, [...at, 'status']),
    intervalMs: durationField(ctx, h.interval, [...at, 'interval'], DEFAULTS.http.interval, true),
    timeoutMs: durationField(ctx, h.timeout, [...at, 'timeout'], DEFAULTS.http.timeout, true),
    successThreshold: h['success-threshold'] ?? DEFAULTS.http.successThreshold,
  };
  if (h.contains !== undefined) spec.contains = h.contains;
  if (h.matches !== undefined) spec.matches = h.matches;
  return spec;
}

function tcpCheck(
  ctx: ResolveContext,
  t: NonNullable<CheckInput['tcp']>,
  at: KeyPath,
  target: PlaceholderTarget,
  place: TargetPlace,
): CheckSpec | undefined {
  placeholders(ctx, t.host, [...at, 'host'], target);
  let port = t.port;
  if (typeof port === 'string') {
    // A port's placeholders are expanded now (the type says number): it cannot depend on the release.
    const problems = checkPlaceholders(port, formatKeyPath([...at, 'port']), target);
    problems.forEach((p) => ctx.problems.add([...at, 'port'], p.message));
    if (problems.length > 0) return undefined;
    try {
      port = expandPlaceholders(port, { ...target, ...place });
    } catch (error) {
      ctx.problems.add([...at, 'port'], (error as Error).message);
      return undefined;
    }
  }
  return {
    kind: 'tcp',
    host: t.host ?? place.host,
    port: portField(ctx, port, [...at, 'port']) ?? 0,
    intervalMs: durationField(ctx, t.interval, [...at, 'interval'], DEFAULTS.tcp.interval, true),
    timeoutMs: durationField(ctx, t.timeout, [...at, 'timeout'], DEFAULTS.tcp.timeout, true),
  };
}

/** `200`, `"2xx"`, `"204"` or a list of them → numbers and lower-case classes. */
function statusField(
  ctx: ResolveContext,
  value: number | string | Array<number | string> | undefined,
  at: KeyPath,
): Array<number | string> {
  if (value === undefined) return [...DEFAULTS.http.status];
  const list = Array.isArray(value) ? value : [value];
  return list.map((item, i) => {
    const s = String(item).trim().toLowerCase();
    if (/^[1-5]xx$/.test(s)) return s;
    const n = /^\d+$/.test(s) ? Number(s) : NaN;
    if (n >= 100 && n <= 599) return n;
    ctx.problems.add(
      Array.isArray(value) ? [...at, i] : at,
      `expected a status 100-599 or a class like "2xx" (got ${shown(item)})`,
    );
    return s;
  });
}
