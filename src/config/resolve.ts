/**
 * A parsed diffship.yml (or a config object built in code) → ResolvedConfig:
 * `${ENV}` expanded, every key validated, defaults applied (SPEC §2), paths
 * resolved, durations in ms, `defaults` hooks merged into every target.
 * Everything wrong is collected and thrown as one ConfigValidationError,
 * before anything touches a target.
 */
import path from 'node:path';
import { DEFAULTS } from './defaults.js';
import { expandEnv } from './env.js';
import {
  createContext,
  durationField,
  globsField,
  portField,
  relativeFolderField,
  shareField,
  type ResolveContext,
} from './fields.js';
import { checkBalancerServers, resolveBalancer } from './balancer.js';
import { resolveHooks } from './hooks.js';
import { resolveUnits } from './units.js';
import { resolveNodes } from './nodes.js';
import { resolveBake, resolveMinHealthy, resolveRolloutHooks } from './wave-controls.js';
import { configFolderHazards, localTargetPath, sshTargetPath } from './paths.js';
import type { PlaceholderTarget } from './placeholders.js';
import { ConfigValidationError, type ConfigProblem, type KeyPath } from './problems.js';
import { ConfigFile, type TargetInput } from './schema.js';
import { resolveSsh, SSH_ONLY_KEYS } from './ssh.js';
import type { ResolvedConfig, SshOptions, TargetConfig } from './types.js';
import { configErrorMap, shown, toProblems } from './zod-issues.js';

export { DEFAULTS } from './defaults.js';

export interface ResolveOptions {
  /** Folder relative target paths resolve against (default: the config file's folder, else the working directory). */
  baseDir?: string;
  /** The config file the value came from, for messages (default none). */
  file?: string | null;
  /** Environment for `${VAR}`, `$USER`, `$HOME`, `$SSH_AUTH_SOCK` (default process.env). */
  env?: NodeJS.ProcessEnv;
}

/** Finds the line of a key path in the source file; loadConfig passes one. */
export type Locator = (keys: KeyPath) => { line: number; column: number } | undefined;

/**
 * Validate a config value (the parsed YAML: keys as in diffship.yml) and resolve
 * it. Throws one ConfigValidationError listing every problem.
 *
 * @example
 * const config = resolveConfig({ targets: [{ name: 'dev', path: './deploy/dev' }] }, { baseDir: '/repo' });
 * config.targets[0].path // '/repo/deploy/dev'
 */
export function resolveConfig(raw: unknown, options: ResolveOptions = {}): ResolvedConfig {
  return resolveWithLocator(raw, options);
}

/** resolveConfig, with a locator that adds line numbers to problems (used by loadConfig). */
export function resolveWithLocator(raw: unknown, options: ResolveOptions, locate?: Locator): ResolvedConfig {
  const env = options.env ?? process.env;
  const file = options.file ? path.resolve(options.file) : null;
  const baseDir = path.resolve(options.baseDir ?? (file ? path.dirname(file) : process.cwd()));
  let secrets: string[] = [];
  const fail = (problems: ConfigProblem[]): never => {
    throw new ConfigValidationError(finish(problems, secrets, locate), file);
  };

  if (raw === null || raw === undefined) {
    fail([{ path: '', message: 'the config is empty: expected a mapping with at least "targets"' }]);
  }
  const expanded = expandEnv(raw, env);
  secrets = expanded.secrets;
  if (expanded.problems.length > 0) fail(expanded.problems);

  // Shape first: the checks below rely on it.
  const parsed = ConfigFile.safeParse(expanded.value, { error: configErrorMap, reportInput: true });
  if (!parsed.success) fail(toProblems(parsed.error.issues));
  const input = parsed.data!;

  const ctx = createContext(baseDir, env, secrets);
  const mode = input.mode ?? DEFAULTS.mode;
  const config: ResolvedConfig = {
    file,
    baseDir,
    source: relativeFolderField(ctx, input.source ?? DEFAULTS.source, ['source'], true),
    include: globsField(ctx, input.include, ['include']),
    exclude: globsField(ctx, input.exclude, ['exclude']),
    mode,
    protect: globsField(ctx, input.protect, ['protect']),
    stateDir: relativeFolderField(ctx, input['state-dir'] ?? DEFAULTS.stateDir, ['state-dir'], false),
    onDrift: input['on-drift'] ?? DEFAULTS.onDrift,
    waves:
      input.waves === undefined
        ? DEFAULTS.waves.map((w) => ({ ...w }))
        : Array.isArray(input.waves)
          ? input.waves.map((w, i) => shareField(ctx, w, ['waves', i], 'wave'))
          : [shareField(ctx, input.waves, ['waves'], 'wave')],
    maxParallel: input['max-parallel'] ?? DEFAULTS.maxParallel,
    maxFailures:
      input['max-failures'] === undefined
        ? { ...DEFAULTS.maxFailures }
        : shareField(ctx, input['max-failures'], ['max-failures'], 'max-failures'),
    rollback: input.rollback ?? DEFAULTS.rollback,
    timeoutMs: durationField(ctx, input.timeout, ['timeout'], DEFAULTS.timeout, true),
    renames: input.renames ?? DEFAULTS.renames,
    symlinks: input.symlinks ?? DEFAULTS.symlinks,
    targets: input.targets.map((target, i) => resolveTarget(ctx, target, i, input.defaults ?? {})),
    rolloutHooks: resolveRolloutHooks(ctx, input),
    secrets,
    warnings: ctx.warnings,
  };
  if (input['max-deletes'] !== undefined) config.maxDeletes = input['max-deletes'];
  const balancer = resolveBalancer(ctx, input.balancer);
  if (balancer) config.balancer = balancer;
  const bake = resolveBake(ctx, input.bake);
  if (bake) config.bake = bake;
  const minHealthy = resolveMinHealthy(ctx, input['min-healthy']);
  if (minHealthy) config.minHealthy = minHealthy;
  const units = resolveUnits(ctx, input.units, config.targets);
  if (units) config.units = units;
  checkBalancerServers(ctx, balancer, config.targets);
  if (input['pass-env'] !== undefined) config.passEnv = [...new Set(input['pass-env'])];
  if (input['drift-scope'] !== undefined) config.driftScope = input['drift-scope'];
  if (input['allow-empty'] !== undefined) config.allowEmpty = input['allow-empty'];
  if (input.preflight !== undefined) config.preflight = input.preflight;
  crossTargetChecks(ctx, config.targets, mode);

  if (ctx.problems.size > 0) fail(ctx.problems.list);
  config.secrets = [...new Set(secrets)];
  return config;
}

/** Line numbers, masked secrets, file order, and one copy of each problem (defaults repeat per target). */
function finish(problems: ConfigProblem[], secrets: readonly string[], locate?: Locator): ConfigProblem[] {
  const seen = new Set<string>();
  const out: ConfigProblem[] = [];
  for (const problem of problems) {
    const key = `${problem.path}\u0000${problem.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    let message = problem.message;
    for (const secret of secrets) if (secret.length >= 3) message = message.split(secret).join('***');
    const where = locate && problem.keys ? locate(problem.keys) : undefined;
    out.push(
      where ? { ...problem, message, line: where.line, column: where.column } : { ...problem, message },
    );
  }
  // Stable sort: problems without a line keep their place relative to each other.
  return out
    .map((problem, index) => ({ problem, index }))
    .sort((a, b) => (a.problem.line ?? 0) - (b.problem.line ?? 0) || a.index - b.index)
    .map(({ problem }) => problem);
}

function resolveTarget(
  ctx: ResolveContext,
  t: TargetInput,
  i: number,
  defaults: Parameters<typeof resolveHooks>[3],
): TargetConfig {
  const at: KeyPath = ['targets', i];
  const sshKeys = SSH_ONLY_KEYS.filter((key) => t[key] !== undefined);
  const type = t.type ?? 'local';
  if (t.type === undefined && (sshKeys.length > 0 || t.host !== undefined)) {
    // A forgotten `type: ssh` would otherwise deploy to a local folder of the same name.
    const keys = [...(t.host !== undefined ? ['host'] : []), ...sshKeys].join(', ');
    ctx.problems.add(
      at,
      `has ${keys} but no type: add "type: ssh" (or "type: local" to use host only for {host})`,
    );
  } else if (type === 'local') {
    for (const key of sshKeys) ctx.problems.add([...at, key], 'only for ssh targets (type: ssh)');
  }

  const vars: Record<string, string> = {};
  for (const [key, value] of Object.entries(t.vars ?? {})) {
    // defineProperty: a var named `__proto__` stays a var.
    Object.defineProperty(vars, key, {
      value: String(value),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }

  let port = portField(ctx, t.port, [...at, 'port']);
  let host: string;
  let targetPath: string;
  let ssh: SshOptions | undefined;
  if (type === 'ssh') {
    if (t.host === undefined) ctx.problems.add([...at, 'host'], 'required for ssh targets');
    else if (/[@\s/]/.test(t.host)) {
      ctx.problems.add(
        [...at, 'host'],
        `expected a host name or address (got ${shown(t.host)}; the user goes in user:)`,
      );
    }
    host = t.host ?? '';
    port ??= DEFAULTS.ssh.port;
    targetPath = sshTargetPath(ctx, t.path, [...at, 'path']);
    ssh = resolveSsh(ctx, t, at, host, port);
  } else {
    host = t.host ?? DEFAULTS.localHost;
    targetPath = localTargetPath(ctx, t.path, [...at, 'path']);
  }

  const nodes = resolveNodes(ctx, t, at, host, vars);
  const placeholderTarget: PlaceholderTarget = {
    name: t.name,
    // Hooks and checks run once per node: every node's vars must be known to them.
    vars: nodes?.[0]?.vars ?? vars,
    ...(port !== undefined ? { port } : {}),
  };
  const target: TargetConfig = {
    name: t.name,
    type,
    path: targetPath,
    host,
    labels: t.labels ?? [],
    vars,
    hooks: resolveHooks(ctx, t, at, defaults, placeholderTarget, { host, path: targetPath }),
  };
  if (port !== undefined) target.port = port;
  if (ssh) target.ssh = ssh;
  if (t['balancer-server'] !== undefined) target.balancerServer = t['balancer-server'];
  if (nodes) target.nodes = nodes;
  return target;
}

/** Names unique; no two targets share a folder; authoritative mode never deletes the config folder. */
function crossTargetChecks(ctx: ResolveContext, targets: readonly TargetConfig[], mode: string): void {
  const byName = new Map<string, number>();
  const byFolder = new Map<string, number>();
  targets.forEach((target, i) => {
    const sameName = byName.get(target.name);
    if (sameName !== undefined) {
      ctx.problems.add(
        ['targets', i, 'name'],
        `duplicate name ${JSON.stringify(target.name)} (also targets[${sameName}])`,
      );
    } else byName.set(target.name, i);

    if (!target.path) return;
    // Two targets on one folder would fight over its lock and state.
    const folder = target.type === 'ssh' ? `${target.host}:${target.port}:${target.path}` : target.path;
    const sameFolder = byFolder.get(folder);
    if (sameFolder !== undefined) {
      ctx.problems.add(
        ['targets', i, 'path'],
        `same folder as targets[${sameFolder}] (${targets[sameFolder]!.name})`,
      );
    } else byFolder.set(folder, i);
  });
  for (const hazard of configFolderHazards(targets, ctx.baseDir)) {
    if (mode === 'authoritative') {
      ctx.problems.add(
        ['targets', hazard.index, 'path'],
        `refused: ${hazard.message}; an authoritative deploy would delete it`,
      );
    } else ctx.warnings.push(`targets[${hazard.index}].path: ${hazard.message}`);
  }
}
