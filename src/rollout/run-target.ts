/**
 * One target through its steps (SPEC §4): lock → plan → before → apply →
 * activate → verify → after → unlock. A failed step fails the target; with
 * `rollback: target` (or `all`) the files go back at once and `activate` runs
 * again so the host reloads the old version. `after` runs whenever `before`
 * ran, also after a failure or a cancellation, so a drained host always
 * returns to service.
 */
import { writeFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import type { CheckSpec, HookSpec, NodeConfig, ResolvedConfig, TargetConfig } from '../config/types.js';
import { expandPlaceholders, type PlaceholderContext } from '../config/placeholders.js';
import { describeError } from '../errors.js';
import { maskSecrets, type Logger } from '../log.js';
import { emptyChanges, type StepName, type StepReport, type TargetReport } from '../report/types.js';
import { TargetSession } from '../apply/session.js';
import { writeJsonAtomic } from '../apply/json-file.js';
import type { TargetPlan } from '../plan/types.js';
import { createTransport } from '../transport/factory.js';
import type { Transport } from '../transport/transport.js';
import { hookEnv, runHook } from './hooks.js';
import { runCheck } from './checks/index.js';
import type { GitObjects } from '../diff/git-objects.js';
import type { WorkDir } from './work-dir.js';
import type { RolloutEvent } from './events.js';
import type { Balancer } from '../balancer/index.js';
import { planReleaseUnits } from '../units/release.js';
import { UnitRun, type UnitHost } from './unit-hooks.js';

export interface TargetRunContext {
  config: ResolvedConfig;
  repo: string;
  /** Resolved SHA being shipped. */
  to: string;
  deployId: string;
  command: 'deploy' | 'plan' | 'rollback';
  /** Folder for per-target change files handed to hooks (created on first use). */
  workDir: WorkDir;
  /** The repository's object reader, shared by every target of the rollout. */
  objects: GitObjects;
  /** The load balancer targets are drained at (`balancer`), if any. */
  balancer?: Balancer;
  /** Cancellation (SIGINT/SIGTERM, rollout timeout). Cleanup steps ignore it. */
  signal: AbortSignal;
  log: Logger;
  emit(e: RolloutEvent): void;
}

/** The bounded time cleanup steps (after, rollback) get even when the rollout was cancelled. */
const CLEANUP_MS = 120_000;

function checkName(c: CheckSpec): string {
  if (c.kind === 'http') return `http ${c.url}`;
  if (c.kind === 'tcp') return `tcp ${c.host ?? ''}:${c.port}`;
  return `command ${c.run ?? c.remote ?? ''}`;
}

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

export class TargetRun {
  readonly report: TargetReport;
  private session: TargetSession | null = null;
  /** True once files on the target changed in this rollout (so `rollback: all` undoes it). */
  changed = false;
  /** Where `remote` commands find the change set on the target, once a copy is there. */
  private remoteChanges: string | null = null;
  /** The balancer drain started: the server must be restored. */
  private drainStarted = false;
  /** The node of a shared-storage target whose steps run now (`nodes`), else null. */
  private node: NodeConfig | null = null;
  /** Nodes activated with this deploy's files: a rollback activates them again. */
  private activatedNodes: NodeConfig[] = [];
  /** Per-unit hooks (`units`), once the plan knows which units change. */
  private units: UnitRun | null = null;

  constructor(
    readonly target: TargetConfig,
    readonly wave: number,
    private readonly ctx: TargetRunContext,
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

  private placeholders(): PlaceholderContext {
    const t = this.target;
    return {
      name: t.name,
      host: this.node?.host ?? t.host,
      port: t.port,
      path: t.path,
      vars: this.node?.vars ?? t.vars,
      release: this.ctx.to,
      previous: this.report.from,
    };
  }

  /** The DIFFSHIP_* variables hooks and command checks get. */
  private env(): Record<string, string> {
    return hookEnv({
      target: this.target.name,
      host: this.node?.host ?? this.target.host,
      path: this.target.path,
      release: this.ctx.to,
      previousRelease: this.report.from,
      deployId: this.ctx.deployId,
      changesFile: join(this.ctx.workDir.path(), `${this.target.name}.json`),
      ...(this.units ? { unitsFile: this.units.file } : {}),
    });
  }

  /** Time a step, record it, and turn a throw into a failed step. Returns false on failure. */
  private async step(
    name: StepName,
    fn: () => Promise<string | { ok: boolean; detail: string }>,
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

  private async hook(
    name: 'before' | 'activate' | 'after',
    hook: HookSpec | undefined,
    signal: AbortSignal,
  ): Promise<boolean> {
    if (!hook) return true;
    const ph = this.placeholders();
    const env = this.env();
    return this.step(name, () =>
      runHook(hook, {
        name,
        run: hook.run === undefined ? undefined : expandPlaceholders(hook.run, ph),
        remote: hook.remote === undefined ? undefined : expandPlaceholders(hook.remote, ph),
        cwd: this.ctx.config.baseDir,
        env,
        transport: this.remoteExec(),
        signal,
        logger: this.ctx.log,
      }),
    );
  }

  private async verify(signal: AbortSignal): Promise<boolean> {
    const checks = this.target.hooks.verify;
    if (checks.length === 0) return true;
    const ph = this.placeholders();
    const env = this.env();
    return this.step('verify', async () => {
      const lines: string[] = [];
      for (const spec of checks) {
        const check = expandCheck(spec, ph);
        const name = checkName(check);
        const r = await runCheck(check, {
          host: this.node?.host ?? this.target.host,
          transport: this.remoteExec(),
          cwd: this.ctx.config.baseDir,
          env,
          signal,
          onAttempt: (attempt: number, message: string) =>
            this.ctx.emit({ type: 'check-attempt', target: this.target.name, check: name, attempt, message }),
        });
        lines.push(`${r.ok ? 'ok' : 'FAILED'} ${name} (${r.attempts} attempt(s)): ${r.detail}`);
        if (!r.ok) return { ok: false, detail: lines.reverse().join('\n') };
      }
      return { ok: true, detail: lines.join('\n') };
    });
  }

  /** Run the target's steps. Never throws: failures land in the report. */
  async run(): Promise<TargetReport> {
    const { ctx, target } = this;
    this.ctx.emit({ type: 'target-start', target: target.name, wave: this.wave });
    const readOnly = ctx.command === 'plan';
    try {
      const opened = await this.step('lock', async () => {
        this.session = await TargetSession.open({
          transport: createTransport(target, ctx.log),
          stateDir: ctx.config.stateDir,
          deployId: ctx.deployId,
          command: ctx.command,
          log: ctx.log,
          readOnly,
          objects: ctx.objects,
        });
        this.report.from = this.session.state?.release ?? null;
        const notes = [
          this.session.recovered,
          this.session.pendingRecovery ? 'an interrupted deploy will be undone first' : null,
        ];
        return notes.filter(Boolean).join('; ') || (readOnly ? 'read-only' : 'locked');
      });
      if (!opened) return this.finish('failed');
      if (ctx.command === 'rollback') return await this.runRollback();

      let plan: TargetPlan | null = null;
      const planned = await this.step('plan', async () => {
        plan = await this.session!.plan({
          repo: ctx.repo,
          to: ctx.to,
          source: ctx.config.source,
          include: ctx.config.include,
          exclude: ctx.config.exclude,
          renames: ctx.config.renames,
          mode: ctx.config.mode,
          protect: ctx.config.protect,
          onDrift: ctx.config.onDrift,
          maxDeletes: ctx.config.maxDeletes,
        });
        this.report.changes = plan.changes;
        this.report.bytes = 0;
        const p = plan as TargetPlan;
        const summary = `${p.writes.length} write(s), ${p.deletes.length} delete(s), ${p.kept.length} kept, ${p.drift.length} drifted`;
        if (p.blocked) return { ok: false, detail: p.blocked.message };
        if (ctx.config.units) return `${summary}; ${await this.planUnits(p)}`;
        return summary;
      });
      if (!planned) return this.finish('failed');
      const p = plan as unknown as TargetPlan;
      if (readOnly) return this.finish('planned');
      if (p.writes.length === 0 && p.deletes.length === 0) {
        await this.session!.apply(p, ctx.repo);
        return this.finish('unchanged');
      }
      await this.writeChangesFile(p);
      if (ctx.signal.aborted) return this.finish('skipped');

      const cleanup = AbortSignal.timeout(CLEANUP_MS);
      // From here `after` always runs: `before` may have drained the host.
      let ok = await this.hook('before', target.hooks.before, ctx.signal);
      if (ok) ok = await this.drain(ctx.signal);
      if (ok && this.units) ok = await this.units.deactivateAll(ctx.signal, cleanup);
      if (ok && !ctx.signal.aborted) {
        ok = await this.step('apply', async () => {
          const r = await this.session!.apply(p, ctx.repo, (progress) =>
            ctx.emit({ type: 'progress', target: target.name, progress }),
          );
          this.changed = r.changed;
          this.report.bytes = r.bytes;
          const swaps = r.swaps?.length
            ? `; units swapped: ${r.swaps.map((x) => `${x.unit} (${x.how})`).join(', ')}`
            : '';
          return `${p.writes.length} file(s) written (${r.bytes} bytes), ${p.deletes.length} deleted${swaps}`;
        });
        if (ok && target.nodes) ok = await this.runNodes(ctx.signal, cleanup);
        else if (ok) ok = await this.hook('activate', target.hooks.activate, ctx.signal);
        if (ok && this.units) ok = await this.units.activateAll(ctx.signal);
        if (ok && !target.nodes) ok = await this.verify(ctx.signal);
      }
      if (ctx.signal.aborted) ok = false;
      let status: TargetReport['status'] = ok ? 'deployed' : 'failed';
      if (!ok && this.changed && ctx.config.rollback !== 'none') {
        if (await this.rollbackNow(cleanup)) status = 'rolled-back';
      }
      if (!(await this.restore(cleanup)) && status === 'deployed') status = 'failed';
      await this.hook('after', target.hooks.after, cleanup);
      return this.finish(status);
    } catch (error) {
      this.report.error ??= maskSecrets(describeError(error), ctx.config.secrets);
      return this.finish('failed');
    } finally {
      await this.close();
    }
  }

  /** Which units the plan touches and their order (`units`); a cycle or missing dependency throws. */
  private async planUnits(p: TargetPlan): Promise<string> {
    const { config } = this.ctx;
    const plan = await planReleaseUnits(
      { repo: this.ctx.repo, source: config.source, include: config.include, exclude: config.exclude },
      config.units!,
      { from: p.from, to: p.to },
      p.writes.map((w) => w.path),
      p.deletes.map((d) => d.path),
    );
    this.units = new UnitRun(config.units!, plan, this.unitHost());
    if (config.units!.reveal === 'unit') {
      // Folder units only: a unit that is one file already appears whole with its rename.
      const folder = (u: { path: string; files: string[] }) =>
        u.files.some((f) => f.startsWith(`${u.path}/`));
      p.revealUnits = [
        ...plan.deactivate.filter(folder).map((u) => ({ path: u.path, deleted: true })),
        ...plan.activate
          .filter((u) => u.status !== 'dependent' && folder(u))
          .map((u) => ({ path: u.path, deleted: false })),
      ];
    }
    this.report.units = this.units.report;
    const names = (list: { name: string }[]) => list.map((u) => u.name).join(' → ') || 'none';
    return `units: deactivate ${names(plan.deactivate)}; activate ${names(plan.activate)}`;
  }

  private unitHost(): UnitHost {
    return {
      step: (name, fn, unit) => this.step(name, fn, unit),
      placeholders: () => this.placeholders(),
      env: () => this.env(),
      transport: () => this.remoteExec(),
      expandCheck,
      host: () => this.node?.host ?? this.target.host,
      cwd: this.ctx.config.baseDir,
      workDir: this.ctx.workDir.path(),
      target: this.target.name,
    };
  }

  /** Take the target out of service at the balancer; from here `restore` must run. */
  private async drain(signal: AbortSignal): Promise<boolean> {
    const { balancer } = this.ctx;
    const server = this.node ? this.node.balancerServer : this.target.balancerServer;
    if (!balancer || server === undefined) return true;
    this.drainStarted = true;
    return this.step('drain', () => balancer.drain(server, signal));
  }

  /** Put the target back in service, whenever `drain` started (also after a failure or a cancel). */
  private async restore(signal: AbortSignal): Promise<boolean> {
    const { balancer } = this.ctx;
    const server = this.node ? this.node.balancerServer : this.target.balancerServer;
    if (!balancer || server === undefined || !this.drainStarted) return true;
    this.drainStarted = false;
    return this.step('restore', () => balancer.restore(server, signal));
  }

  /** Restore this deploy's backup and let the host load the old files again. */
  async rollbackNow(signal: AbortSignal): Promise<boolean> {
    if (!this.session) return false;
    const ok = await this.step('rollback', async () => {
      const r = await this.session!.rollback(this.ctx.deployId);
      this.changed = false;
      return `restored release ${r.restored?.slice(0, 12) ?? '(none)'}`;
    });
    if (ok && this.target.nodes) await this.reactivateNodes(signal);
    else if (ok && this.target.hooks.activate)
      await this.hook('activate', this.target.hooks.activate, signal);
    if (ok && this.units) await this.units.afterRollback(signal);
    return ok;
  }

  /**
   * Shared storage: the files are in place once; now each node in turn is
   * drained, activated, verified and restored (restored also when a step failed).
   */
  private async runNodes(signal: AbortSignal, cleanup: AbortSignal): Promise<boolean> {
    for (const node of this.target.nodes ?? []) {
      if (signal.aborted) return false;
      this.node = node;
      try {
        let ok = await this.drain(signal);
        if (ok) {
          this.activatedNodes.push(node);
          ok = await this.hook('activate', this.target.hooks.activate, signal);
        }
        if (ok) ok = await this.verify(signal);
        const restored = await this.restore(cleanup);
        if (!ok || !restored) return false;
      } finally {
        this.node = null;
      }
    }
    return true;
  }

  /** After a rollback of shared files: every node that loaded them loads the old ones, drained around it. */
  private async reactivateNodes(signal: AbortSignal): Promise<void> {
    const nodes = this.activatedNodes;
    this.activatedNodes = [];
    for (const node of nodes) {
      this.node = node;
      try {
        if (await this.drain(signal)) await this.hook('activate', this.target.hooks.activate, signal);
        await this.restore(signal);
      } finally {
        this.node = null;
      }
    }
  }

  /** `rollback: all`: reopen a finished target and undo what this rollout did to it. */
  async undo(): Promise<boolean> {
    const cleanup = AbortSignal.timeout(CLEANUP_MS);
    try {
      this.session = await TargetSession.open({
        transport: createTransport(this.target, this.ctx.log),
        stateDir: this.ctx.config.stateDir,
        deployId: this.ctx.deployId,
        command: 'rollback',
        log: this.ctx.log,
      });
      // Drained around the undo like around the deploy: before, restore + activate, after.
      let drained = await this.hook('before', this.target.hooks.before, cleanup);
      if (drained) drained = await this.drain(cleanup);
      const ok = drained && (await this.rollbackNow(cleanup));
      await this.restore(cleanup);
      await this.hook('after', this.target.hooks.after, cleanup);
      if (ok) this.report.status = 'rolled-back';
      return ok;
    } catch (error) {
      this.report.error ??= `rollback: ${describeError(error)}`;
      return false;
    } finally {
      await this.close();
      this.ctx.emit({ type: 'target-end', target: this.report });
    }
  }

  /** `diffship rollback`: before → restore the newest backup → activate → verify → after. */
  private async runRollback(): Promise<TargetReport> {
    const { target, ctx } = this;
    const cleanup = AbortSignal.timeout(CLEANUP_MS);
    let ok = await this.hook('before', target.hooks.before, ctx.signal);
    if (ok) ok = await this.drain(ctx.signal);
    if (ok) {
      ok = await this.step('rollback', async () => {
        const from = this.report.from;
        const r = await this.session!.rollback();
        this.report.to = r.restored ?? '';
        // `units`: the units whose files came back are activated again (and verified) in order.
        if (ctx.config.units && r.restored !== null) {
          const plan = await planReleaseUnits(
            {
              repo: ctx.repo,
              source: ctx.config.source,
              include: ctx.config.include,
              exclude: ctx.config.exclude,
            },
            ctx.config.units,
            { from, to: r.restored },
            r.restoredPaths,
            r.removedPaths,
          );
          this.units = new UnitRun(
            ctx.config.units,
            { activate: plan.activate, deactivate: [] },
            this.unitHost(),
          );
          this.report.units = this.units.report;
          this.units.writeFile();
        }
        return `restored release ${r.restored?.slice(0, 12) ?? '(none)'} from backup ${r.deployId}`;
      });
    }
    if (ok && target.nodes) ok = await this.runNodes(ctx.signal, cleanup);
    else if (ok) ok = await this.hook('activate', target.hooks.activate, ctx.signal);
    if (ok && this.units) ok = await this.units.activateAll(ctx.signal);
    if (ok && !target.nodes) ok = await this.verify(ctx.signal);
    if (!(await this.restore(cleanup))) ok = false;
    await this.hook('after', target.hooks.after, cleanup);
    return this.finish(ok ? 'rolled-back' : 'failed');
  }

  /**
   * The change set hooks get as DIFFSHIP_CHANGES: a file here for `run` commands, written
   * synchronously (an async write queues behind the other targets' staging and syncfs on
   * libuv's four threads, ~20 ms a target at max-parallel 10); and, when the target has
   * `remote` commands, a copy in its state folder, where those commands can read it.
   */
  private async writeChangesFile(plan: TargetPlan): Promise<void> {
    const body = { target: this.target.name, from: plan.from, to: plan.to, ...plan.changes };
    writeFileSync(join(this.ctx.workDir.path(), `${this.target.name}.json`), JSON.stringify(body, null, 2));
    this.units?.writeFile();
    if (!hasRemoteCommands(this.target.hooks) || !this.session) return;
    const rel = `${this.session.layout.dir}/${REMOTE_CHANGES}`;
    await writeJsonAtomic(this.session.transport, rel, body);
    this.remoteChanges = posix.join(this.target.path, rel);
  }

  /** The target's transport for `remote` commands: DIFFSHIP_CHANGES names the copy on the target. */
  private remoteExec(): Pick<Transport, 'exec'> | undefined {
    const transport = this.session?.transport;
    const changes = this.remoteChanges;
    if (!transport || changes === null) return transport;
    return {
      exec: (command, options = {}) =>
        transport.exec(command, { ...options, env: { ...options.env, DIFFSHIP_CHANGES: changes } }),
    };
  }

  private finish(status: TargetReport['status']): TargetReport {
    this.report.status = status;
    if (status === 'failed' && this.report.error === null) this.report.error = 'failed';
    if (status === 'skipped' && this.ctx.signal.aborted) this.report.error ??= 'cancelled before it started';
    return this.report;
  }

  private async close(): Promise<void> {
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

/** Expand placeholders in every string of a check. */
export function expandCheck(check: CheckSpec, ph: PlaceholderContext): CheckSpec {
  const x = (s: string | undefined) => (s === undefined ? undefined : expandPlaceholders(s, ph));
  switch (check.kind) {
    case 'http':
      return {
        ...check,
        url: x(check.url)!,
        contains: x(check.contains),
        matches: x(check.matches),
        headers: Object.fromEntries(Object.entries(check.headers).map(([k, v]) => [k, x(v)!])),
      };
    case 'tcp':
      return { ...check, host: x(check.host) };
    case 'command':
      return { ...check, run: x(check.run), remote: x(check.remote) };
  }
}
