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
import { DiffshipError, describeError } from '../errors.js';
import { maskSecrets, type Logger } from '../log.js';
import { emptyChanges, type StepName, type StepReport, type TargetReport } from '../report/types.js';
import { TargetSession } from '../apply/session.js';
import { writeJsonAtomic } from '../apply/json-file.js';
import type { TargetPlan } from '../plan/types.js';
import type { ChildEnvPolicy } from '../transport/child-env.js';
import { plannedChanges } from '../plan/report-changes.js';
import { blobBytes } from '../diff/blob-bytes.js';
import { describeDriftCheck } from '../plan/drift.js';
import { createTransport } from '../transport/factory.js';
import type { Transport } from '../transport/transport.js';
import { hookEnv, runHook } from './hooks.js';
import { runChecks } from './checks/index.js';
import type { GitObjects } from '../diff/git-objects.js';
import type { WorkDir } from './work-dir.js';
import { describeOutsideLinks, type OutsideLink } from '../plan/outside-links.js';
import type { RolloutEvent } from './events.js';
import type { Balancer } from '../balancer/index.js';
import { isObjectId } from '../apply/state-schema.js';

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
  log: Logger;
  emit(e: RolloutEvent): void;
}

/** How a restore ended: healthy on the old release, restored but unhealthy, or not restored. */
type RollbackOutcome = 'rolled-back' | 'rollback-unhealthy' | 'failed';

/** The bounded time cleanup steps (after, rollback) get even when the rollout was cancelled. */
const CLEANUP_MS = 120_000;

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
  /** After a restore, hooks and checks see the restored release as {release} / DIFFSHIP_RELEASE. */
  private restored: string | null = null;

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
      release: this.restored ?? this.ctx.releaseName ?? this.ctx.to,
      previous: this.report.from,
    };
  }

  /** The DIFFSHIP_* variables hooks and command checks get. */
  private env(): Record<string, string> {
    return hookEnv({
      target: this.target.name,
      host: this.node?.host ?? this.target.host,
      path: this.target.path,
      release: this.restored ?? this.ctx.to,
      previousRelease: this.report.from,
      deployId: this.ctx.deployId,
      changesFile: join(this.ctx.workDir.path(), `${this.target.name}.json`),
    });
  }

  /** What of diffship's own environment hooks and command checks must not inherit (child-env.ts). */
  private envPolicy(): ChildEnvPolicy {
    return { secrets: this.ctx.config.secrets, pass: this.ctx.config.passEnv ?? [] };
  }

  /** Time a step, record it, and turn a throw into a failed step. Returns false on failure. */
  private async step(
    name: StepName,
    fn: () => Promise<string | { ok: boolean; detail: string }>,
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
    };
    this.report.steps.push(step);
    this.ctx.emit({ type: 'step-end', target: this.target.name, step });
    if (!ok && this.report.error === null) this.report.error = `${name}: ${detail.split('\n')[0] ?? ''}`;
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
        envPolicy: this.envPolicy(),
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
          target: target.name,
          log: ctx.log,
          readOnly,
          objects: ctx.objects,
          idLength: isObjectId(ctx.to) ? ctx.to.length : undefined,
        });
        this.report.from = this.session.state?.release ?? null;
        const notes = [
          this.session.recovered,
          this.session.pendingOutcome === 'finish'
            ? 'an interrupted run is in place and recorded; the next run only drops its journal'
            : this.session.pendingRecovery
              ? 'an interrupted deploy will be undone first'
              : null,
        ];
        return notes.filter(Boolean).join('; ') || (readOnly ? 'read-only' : 'locked');
      });
      if (!opened) return this.finish('failed');
      if (ctx.command === 'rollback') return await this.runRollback();

      let plan: TargetPlan | null = null;
      const planned = await this.step('plan', async () => {
        plan = await this.planTarget();
        // The commit git resolved, not the recorded text: hooks and the report see only that.
        this.report.from = plan.from;
        const p = plan as TargetPlan;
        this.report.changes = plannedChanges(p, ctx.config.mode);
        this.report.driftChecked = p.driftChecked;
        if (p.note) {
          this.report.note = p.note;
          ctx.log.warn(`${target.name}: ${p.note}`);
        }
        // A plan shows what the deploy would send; a deploy counts what it wrote (apply sets it).
        this.report.bytes = readOnly
          ? await blobBytes(
              ctx.repo,
              p.writes.map((w) => w.blob),
            )
          : 0;
        const changed = p.selectionChanged ? '; selection changed: the whole selection was compared' : '';
        const links = ctx.outsideLinks?.length ? `; warning: ${describeOutsideLinks(ctx.outsideLinks)}` : '';
        const summary = `${p.note ? `${p.note}; ` : ''}${p.writes.length} write(s), ${p.deletes.length} delete(s), ${p.kept.length} kept, ${p.drift.length} drifted (${describeDriftCheck(p.driftChecked)})${changed}${links}`;
        if (p.blocked) return { ok: false, detail: p.blocked.message };
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
      if (ok && !ctx.signal.aborted) {
        ok = await this.step('apply', async () => {
          const r = await this.session!.apply(p, ctx.repo, (progress) =>
            ctx.emit({ type: 'progress', target: target.name, progress }),
          );
          this.changed = r.changed;
          this.report.bytes = r.bytes;
          return `${p.writes.length} file(s) written (${r.bytes} bytes), ${p.deletes.length} deleted`;
        });
        if (ok && target.nodes) ok = await this.runNodes(ctx.signal, cleanup);
        else if (ok) ok = await this.hook('activate', target.hooks.activate, ctx.signal);
        if (ok && !target.nodes) ok = await this.verify(ctx.signal);
      }
      if (ctx.signal.aborted) ok = false;
      let status: TargetReport['status'] = ok ? 'deployed' : 'failed';
      if (!ok && this.changed && ctx.config.rollback !== 'none') {
        const outcome = await this.rollbackNow(cleanup);
        if (outcome !== 'failed') status = outcome;
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

  /** The plan step's work. A release neither in the repository nor in a manifest is said in full. */
  private async planTarget(): Promise<TargetPlan> {
    const { ctx } = this;
    try {
      const plan = await this.session!.plan({
        repo: ctx.repo,
        to: ctx.to,
        source: ctx.config.source,
        include: ctx.config.include,
        exclude: ctx.config.exclude,
        renames: ctx.config.renames,
        mode: ctx.config.mode,
        protect: ctx.config.protect,
        onDrift: ctx.config.onDrift,
        driftScope: ctx.config.driftScope,
        maxDeletes: ctx.config.maxDeletes,
        fromManifest: ctx.fromManifest,
        assumeEmpty: ctx.assumeEmpty,
      });
      return plan;
    } catch (error) {
      if (error instanceof DiffshipError && error.code === 'E_REF') ctx.log.error(error.message);
      throw error;
    }
  }

  /**
   * Restore this deploy's backup, then let the host load the old files and prove it
   * is healthy on them (activate, then verify). `failed` when the restore itself failed.
   */
  async rollbackNow(signal: AbortSignal): Promise<RollbackOutcome> {
    if (!this.session) return 'failed';
    let restored: string | null = null;
    const ok = await this.step('rollback', async () => {
      const r = await this.session!.rollback(this.ctx.deployId);
      this.changed = false;
      restored = r.restored;
      return `restored release ${r.restored?.slice(0, 12) ?? '(none)'}`;
    });
    if (!ok) return 'failed';
    if (this.target.nodes) {
      // Shared storage: every node that loaded the new files loads the old ones, drained around it.
      await this.reactivateNodes(signal);
      return 'rolled-back';
    }
    return this.checkRestored(restored, signal);
  }

  /**
   * activate → verify against the restored release (`{release}` = its SHA). A rollback
   * is `rolled-back` only when both pass; else `rollback-unhealthy`, said loudly: the
   * host may be down on the old release too. With no release restored (the first
   * deploy was undone) there is nothing to verify, only activate runs; nor after a
   * cancellation (SIGINT/SIGTERM, rollout timeout), which must end promptly.
   */
  private async checkRestored(restored: string | null, signal: AbortSignal): Promise<RollbackOutcome> {
    this.restored = restored ?? '';
    const before = this.report.steps.length;
    let ok = await this.hook('activate', this.target.hooks.activate, signal);
    // A cancelled run ends promptly: the restored release is activated, not waited on by checks.
    if (ok && restored !== null && !this.ctx.signal.aborted) ok = await this.verify(signal);
    if (ok) return 'rolled-back';
    const failed = this.report.steps.slice(before).find((s) => s.status === 'failed');
    const why = failed ? `${failed.name}: ${failed.detail.split('\n')[0] ?? ''}` : 'cancelled';
    const message = `ROLLBACK UNHEALTHY: ${this.target.name} was restored to release ${restored?.slice(0, 12) ?? '(none)'} but is not healthy on it (${why}) — check the host now`;
    this.ctx.log.error(maskSecrets(message, this.ctx.config.secrets));
    const first = this.report.error;
    this.report.error = maskSecrets(
      `${message}${first ? `; first failure: ${first}` : ''}`,
      this.ctx.config.secrets,
    );
    return 'rollback-unhealthy';
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
        target: this.target.name,
        log: this.ctx.log,
      });
      // Drained around the undo like around the deploy: before, restore + activate + verify, after.
      let drained = await this.hook('before', this.target.hooks.before, cleanup);
      if (drained) drained = await this.drain(cleanup);
      const outcome = drained ? await this.rollbackNow(cleanup) : 'failed';
      await this.restore(cleanup);
      await this.hook('after', this.target.hooks.after, cleanup);
      if (outcome !== 'failed') this.report.status = outcome;
      return outcome === 'rolled-back';
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
    let restored: string | null = null;
    let ok = await this.hook('before', target.hooks.before, ctx.signal);
    if (ok) ok = await this.drain(ctx.signal);
    if (ok) {
      ok = await this.step('rollback', async () => {
        const r = await this.session!.rollback();
        restored = r.restored;
        this.report.to = r.restored ?? '';
        return `restored release ${r.restored?.slice(0, 12) ?? '(none)'} from backup ${r.deployId}`;
      });
    }
    let status: TargetReport['status'] = 'failed';
    if (ok && target.nodes) status = (await this.runNodes(ctx.signal, cleanup)) ? 'rolled-back' : 'failed';
    else if (ok) status = await this.checkRestored(restored, ctx.signal);
    if (!(await this.restore(cleanup)) && status === 'rolled-back') status = 'failed';
    await this.hook('after', target.hooks.after, cleanup);
    return this.finish(status);
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
