/**
 * Running one named step of a target: timing, reporting and masking (step), hooks,
 * verify checks, and what they see (placeholders, DIFFSHIP_* env, the change set).
 * The flows that string steps together extend it: target-nodes → target-rollback → run-target.
 */
import { writeFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import type { HookSpec, NodeConfig, ResolvedConfig, TargetConfig } from '../config/types.js';
import { expandPlaceholders, type PlaceholderContext } from '../config/placeholders.js';
import { DiffshipError, describeError } from '../errors.js';
import { maskSecrets, type Logger } from '../log.js';
import { emptyChanges, type StepName, type StepReport, type TargetReport } from '../report/types.js';
import type { TargetSession } from '../apply/session.js';
import { writeJsonAtomic } from '../apply/json-file.js';
import type { TargetPlan } from '../plan/types.js';
import type { ChildEnvPolicy } from '../transport/child-env.js';
import { sharedEnvPolicy } from '../transport/local/run-local.js';
import type { Transport } from '../transport/transport.js';
import { hookEnv, runHook } from './hooks.js';
import { runChecks } from './checks/index.js';
import type { GitObjects } from '../diff/git-objects.js';
import type { WorkDir } from './work-dir.js';
import type { OutsideLink } from '../plan/outside-links.js';
import type { RolloutEvent } from './events.js';
import type { Balancer } from '../balancer/index.js';
import { expandCheck } from './expand-check.js';
import type { UnitHost, UnitRun } from './unit-hooks.js';
import type { KeptTransports } from './kept-transports.js';
import type { KeptPlans } from './kept-plans.js';
import type { EarlyConnections } from './early-connect.js';

export interface TargetRunContext {
  config: ResolvedConfig;
  repo: string;
  /** Resolved SHA being shipped (a commit, or the tree id of a built folder). */
  to: string;
  /** `--release-name`: what reports and `{release}` call the release instead of its id. */
  releaseName?: string;
  /** `--from-manifest` / `--assume-empty`: what plans start from (apply/basis.ts). */
  fromManifest?: boolean;
  assumeEmpty?: boolean;
  deployId: string;
  command: 'deploy' | 'plan' | 'rollback';
  /** Folder for per-target change files handed to hooks (created on first use). */
  workDir: WorkDir;
  /** The repository's object reader, shared by every target of the rollout. */
  objects: GitObjects;
  /** The load balancer targets are drained at (`balancer`), if any. */
  balancer?: Balancer;
  /** Release symlinks pointing outside the release: shipped, and warned about in the plan step. */
  outsideLinks?: readonly OutsideLink[];
  /** Cancellation (SIGINT/SIGTERM, rollout timeout). Cleanup steps ignore it. */
  signal: AbortSignal;
  /** Aborted when a cancellation's grace ran out (hard-stop.ts): connections close, cleanup stops. */
  force?: AbortSignal;
  log: Logger;
  emit(e: RolloutEvent): void;
  /** Connections preflight left for the deploys of the first wave (kept-transports.ts). */
  kept?: KeptTransports;
  /** Plans preflight left for the deploys of the first wave (kept-plans.ts). */
  keptPlans?: KeptPlans;
  /** Connections started before the release was read, for preflight to take (early-connect.ts). */
  early?: EarlyConnections;
}

/** The environment policy of each rollout (its targets share one context), filtered once. */
const rolloutEnvPolicies = new WeakMap<TargetRunContext, ChildEnvPolicy>();

/** The change set's copy in the target's state folder, for `remote` commands. */
const REMOTE_CHANGES = 'changes.json';

/** Whether any hook or check of the target runs a command on the target itself. */
function hasRemoteCommands(hooks: TargetConfig['hooks']): boolean {
  const commands = [hooks.before, hooks.activate, hooks.after];
  return (
    commands.some((h) => h?.remote !== undefined) ||
    hooks.verify.some((c) => c.kind === 'command' && c.remote !== undefined)
  );
}

/** Whether anything of the target's deploy gets DIFFSHIP_CHANGES: a hook, a verify check, or units. */
function readsChanges(target: TargetConfig, config: ResolvedConfig): boolean {
  const h = target.hooks;
  return (
    h.before !== undefined ||
    h.activate !== undefined ||
    h.after !== undefined ||
    h.verify.length > 0 ||
    config.units !== undefined
  );
}

export class TargetSteps {
  readonly report: TargetReport;
  protected session: TargetSession | null = null;
  /** True once files on the target changed in this rollout (so `rollback: all` undoes it). */
  changed = false;
  /** Where `remote` commands find the change set on the target, once a copy is there. */
  protected remoteChanges: string | null = null;
  /** The node of a shared-storage target whose steps run now (`nodes`), else null. */
  protected node: NodeConfig | null = null;
  /** After a restore, hooks and checks see the restored release as {release} / DIFFSHIP_RELEASE. */
  protected restored: string | null = null;
  /** Per-unit hooks (`units`), once the plan knows which units change. */
  protected units: UnitRun | null = null;

  constructor(
    readonly target: TargetConfig,
    readonly wave: number,
    protected readonly ctx: TargetRunContext,
  ) {
    this.report = {
      name: target.name,
      wave,
      status: 'skipped', // until it runs: a target the rollout never reached stays skipped
      from: null,
      to: ctx.to,
      changes: emptyChanges(),
      bytes: 0,
      steps: [],
      error: null,
    };
  }

  protected placeholders(): PlaceholderContext {
    const t = this.target;
    return {
      name: t.name,
      host: this.node?.host ?? t.host,
      port: t.port,
      path: t.path,
      vars: this.node?.vars ?? t.vars,
      release: this.restored ?? this.ctx.to,
      // A restored release is shown by its id; the new one by its --release-name when given.
      ...(this.restored === null && this.ctx.releaseName ? { releaseName: this.ctx.releaseName } : {}),
      previous: this.report.from,
    };
  }

  /** The DIFFSHIP_* variables hooks and command checks get. */
  protected env(): Record<string, string> {
    return hookEnv({
      target: this.target.name,
      host: this.node?.host ?? this.target.host,
      path: this.target.path,
      release: this.restored ?? this.ctx.to,
      previousRelease: this.report.from,
      deployId: this.ctx.deployId,
      changesFile: join(this.ctx.workDir.path(), `${this.target.name}.json`),
      ...(this.units ? { unitsFile: this.units.file } : {}),
    });
  }

  /**
   * What of diffship's own environment hooks and command checks must not inherit (child-env.ts):
   * one policy per rollout, with the environment as the rollout's first command found it.
   */
  protected envPolicy(): ChildEnvPolicy {
    let policy = rolloutEnvPolicies.get(this.ctx);
    if (!policy) {
      policy = sharedEnvPolicy({ secrets: this.ctx.config.secrets, pass: this.ctx.config.passEnv ?? [] });
      rolloutEnvPolicies.set(this.ctx, policy);
    }
    return policy;
  }

  /** Time a step, record it, and turn a throw into a failed step. Returns false on failure. */
  protected async step(
    name: StepName,
    fn: () => Promise<string | { ok: boolean; detail: string }>,
    /** The unit a per-unit step belongs to (`units`). */
    unit?: string,
  ): Promise<boolean> {
    const startedAt = new Date().toISOString();
    const t0 = performance.now();
    this.ctx.emit({ type: 'step-start', target: this.target.name, step: name });
    let ok = true;
    let detail = '';
    try {
      const r = await fn();
      if (typeof r === 'string') detail = r;
      else ({ ok, detail } = r);
    } catch (error) {
      ok = false;
      detail = describeError(error);
      // Failed because the cancellation's grace ran out and closed the connection (hard-stop.ts).
      if (this.ctx.force?.aborted) detail = `cut short by the cancellation: ${detail}`;
      if (error instanceof DiffshipError) this.report.errorCode ??= error.code;
    }
    // Hook and check output can echo anything, secrets included: mask before it is shown or stored.
    detail = maskSecrets(detail, this.ctx.config.secrets);
    const step: StepReport = {
      name,
      status: ok ? 'ok' : 'failed',
      durationMs: Math.round(performance.now() - t0),
      detail,
      startedAt,
      ...(this.node ? { node: this.node.name } : {}),
      ...(unit !== undefined ? { unit } : {}),
    };
    this.report.steps.push(step);
    this.ctx.emit({ type: 'step-end', target: this.target.name, step });
    if (!ok && this.report.error === null)
      this.report.error = `${name}${unit !== undefined ? ` ${unit}` : ''}: ${detail.split('\n')[0] ?? ''}`;
    return ok;
  }

  protected async hook(
    name: 'before' | 'activate' | 'after',
    hook: HookSpec | undefined,
    signal: AbortSignal,
  ): Promise<boolean> {
    if (!hook) return true;
    const ph = this.placeholders();
    const env = this.env();
    if (hook.run !== undefined) this.session?.commandRan();
    return this.step(name, () =>
      runHook(hook, {
        name,
        run: hook.run === undefined ? undefined : expandPlaceholders(hook.run, ph),
        remote: hook.remote === undefined ? undefined : expandPlaceholders(hook.remote, ph),
        cwd: this.ctx.config.baseDir,
        env,
        envPolicy: this.envPolicy(),
        transport: this.remoteExec(),
        signal,
        logger: this.ctx.log,
      }),
    );
  }

  protected async verify(signal: AbortSignal): Promise<boolean> {
    const checks = this.target.hooks.verify;
    if (checks.length === 0) return true;
    const ph = this.placeholders();
    return this.step('verify', () =>
      runChecks(
        checks.map((spec) => expandCheck(spec, ph)),
        {
          host: this.node?.host ?? this.target.host,
          transport: this.remoteExec(),
          cwd: this.ctx.config.baseDir,
          env: this.env(),
          envPolicy: this.envPolicy(),
          signal,
          onAttempt: (_i, attempt, message, _ok, check) =>
            this.ctx.emit({ type: 'check-attempt', target: this.target.name, check, attempt, message }),
        },
      ),
    );
  }

  /**
   * The change set hooks get as DIFFSHIP_CHANGES: a file here for `run` commands; and, when
   * the target has `remote` commands, a copy in its state folder, where those commands can
   * read it. Written on libuv's pool (16 threads), not the main thread: creating a file
   * waits while the file system commits the fleet's fsyncs, and with a synchronous write
   * every target's event loop waited with it (~1 ms a target, 200 ms of a 200-target run).
   */
  protected async writeChangesFile(plan: TargetPlan): Promise<void> {
    // No hook, check or unit of this target runs to read it: no file (nor folder) to make.
    if (!readsChanges(this.target, this.ctx.config)) return;
    const body = { target: this.target.name, from: plan.from, to: plan.to, ...plan.changes };
    await writeFile(join(this.ctx.workDir.path(), `${this.target.name}.json`), JSON.stringify(body, null, 2));
    this.units?.writeFile();
    if (!hasRemoteCommands(this.target.hooks) || !this.session) return;
    const rel = `${this.session.layout.dir}/${REMOTE_CHANGES}`;
    await writeJsonAtomic(this.session.transport, rel, body);
    this.remoteChanges = posix.join(this.target.path, rel);
  }

  /** What per-unit hooks and checks need of this target (rollout/unit-hooks.ts). */
  protected unitHost(): UnitHost {
    return {
      step: (name, fn, unit) => this.step(name, fn, unit),
      placeholders: () => this.placeholders(),
      env: () => this.env(),
      transport: () => this.remoteExec(),
      commandRan: () => this.session?.commandRan(),
      expandCheck,
      host: () => this.node?.host ?? this.target.host,
      cwd: this.ctx.config.baseDir,
      workDir: this.ctx.workDir.path(),
      target: this.target.name,
    };
  }

  /** The target's transport for `remote` commands: DIFFSHIP_CHANGES names the copy on the target. */
  protected remoteExec(): Pick<Transport, 'exec'> | undefined {
    const transport = this.session?.transport;
    const changes = this.remoteChanges;
    if (!transport || changes === null) return transport;
    return {
      exec: (command, options = {}) =>
        transport.exec(command, { ...options, env: { ...options.env, DIFFSHIP_CHANGES: changes } }),
    };
  }

  protected finish(status: TargetReport['status']): TargetReport {
    this.report.status = status;
    if (status === 'failed' && this.report.error === null) this.report.error = 'failed';
    if (status === 'skipped' && this.ctx.signal.aborted) this.report.error ??= 'cancelled before it started';
    return this.report;
  }

  protected async close(): Promise<void> {
    const s = this.session;
    this.session = null;
    if (!s) return;
    const t0 = performance.now();
    try {
      await s.close();
      if (this.ctx.command !== 'plan') {
        this.report.steps.push({
          name: 'unlock',
          status: 'ok',
          durationMs: Math.round(performance.now() - t0),
          detail: '',
        });
      }
    } catch (error) {
      this.report.steps.push({
        name: 'unlock',
        status: 'failed',
        durationMs: 0,
        detail: describeError(error),
      });
    }
  }
}
