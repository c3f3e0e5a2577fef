/**
 * How a target goes back: the restore after a failed step, `rollback: all`'s undo of a
 * finished target, and `diffship rollback`; each proves the host healthy on the old files.
 */
import type { TargetReport } from '../report/types.js';
import { describeError } from '../errors.js';
import { planReleaseUnits } from '../units/release.js';
import { UnitRun } from './unit-hooks.js';
import { maskSecrets } from '../log.js';
import { TargetSession } from '../apply/session.js';
import { createTransport } from '../transport/factory.js';
import { TargetNodes } from './target-nodes.js';
import { cleanupSignal, closeOnForce } from './hard-stop.js';

/** How a restore ended: healthy on the old release, restored but unhealthy, or not restored. */
type RollbackOutcome = 'rolled-back' | 'rollback-unhealthy' | 'failed';

export class TargetRollback extends TargetNodes {
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
   * `units`: a unit failed after the apply. Only it (and the units never reached) go back
   * to their files before this deploy; it is activated and verified on them, then the
   * target's own checks run. Null when this does not apply (no unit failed, shared
   * storage, a cancellation) or the target did not come back healthy that way: the
   * caller then rolls the whole deploy back.
   */
  async rollbackUnitsNow(signal: AbortSignal): Promise<RollbackOutcome | null> {
    const held = this.units?.heldBack();
    if (!held || !this.session || this.target.nodes || this.ctx.signal.aborted) return null;
    const names = held.map((u) => u.name).join(', ');
    const reveal = this.ctx.config.units?.reveal === 'unit';
    const ok = await this.step(
      'rollback',
      async () => {
        const r = await this.session!.rollbackUnits(held, reveal);
        const swaps = r.swaps.length
          ? `; units swapped: ${r.swaps.map((x) => `${x.unit} (${x.how})`).join(', ')}`
          : '';
        return `units rolled back: ${names} (their files before this deploy); the rest of release ${this.ctx.to.slice(0, 12)} stays${swaps}`;
      },
      held[0]!.name,
    );
    if (!ok) return null;
    this.report.heldBack = held.map((u) => u.name);
    let healthy = await this.units!.afterUnitRollback(signal);
    if (healthy && !this.ctx.signal.aborted) healthy = await this.verify(signal);
    if (healthy) return 'rolled-back';
    this.ctx.log.warn(
      `${this.target.name}: ${names} not healthy on the previous files — rolling the whole deploy back`,
    );
    delete this.report.heldBack;
    return null;
  }

  /**
   * activate → verify against the restored release (`{release}` = its SHA). A rollback
   * is `rolled-back` only when both pass; else `rollback-unhealthy`, said loudly: the
   * host may be down on the old release too. With no release restored (the first
   * deploy was undone) there is nothing to verify, only activate runs; nor after a
   * cancellation (SIGINT/SIGTERM, rollout timeout), which must end promptly.
   */
  protected async checkRestored(
    restored: string | null,
    signal: AbortSignal,
    /** `diffship rollback`: the restored units are activated as a release of their own. */
    asRelease = false,
  ): Promise<RollbackOutcome> {
    this.restored = restored ?? '';
    const before = this.report.steps.length;
    let ok = await this.hook('activate', this.target.hooks.activate, signal);
    // `units`: the units loaded in this deploy load their old files again, each verified.
    if (ok && this.units)
      ok = asRelease ? await this.units.activateAll(signal) : await this.units.afterRollback(signal);
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

  /** `rollback: all`: reopen a finished target and undo what this rollout did to it. */
  async undo(): Promise<boolean> {
    const cleanup = cleanupSignal(this.ctx.force);
    try {
      this.session = await TargetSession.open({
        transport: closeOnForce(createTransport(this.target, this.ctx.log), this.ctx.force),
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
      // The whole deploy went back: no unit is held back any more.
      if (outcome !== 'failed') delete this.report.heldBack;
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
  protected async runRollback(): Promise<TargetReport> {
    const { target, ctx } = this;
    const cleanup = cleanupSignal(this.ctx.force);
    let restored: string | null = null;
    let ok = await this.hook('before', target.hooks.before, ctx.signal);
    if (ok) ok = await this.drain(ctx.signal);
    if (ok) {
      ok = await this.step('rollback', async () => {
        const from = this.report.from;
        const r = await this.session!.rollback();
        restored = r.restored;
        this.report.to = r.restored ?? '';
        if (ctx.config.units && r.restored !== null) await this.unitsAfterRestore(from, r);
        return `restored release ${r.restored?.slice(0, 12) ?? '(none)'} from backup ${r.deployId}`;
      });
    }
    let status: TargetReport['status'] = 'failed';
    if (ok && target.nodes) status = (await this.runNodes(ctx.signal, cleanup)) ? 'rolled-back' : 'failed';
    else if (ok) status = await this.checkRestored(restored, ctx.signal, true);
    if (!(await this.restore(cleanup)) && status === 'rolled-back') status = 'failed';
    await this.hook('after', target.hooks.after, cleanup);
    return this.finish(status);
  }

  /** `diffship rollback` with `units`: the units whose files came back are activated again, in order. */
  private async unitsAfterRestore(
    from: string | null,
    r: { restored: string | null; restoredPaths: string[]; removedPaths: string[] },
  ): Promise<void> {
    const { ctx } = this;
    const plan = await planReleaseUnits(
      { repo: ctx.repo, source: ctx.config.source, include: ctx.config.include, exclude: ctx.config.exclude },
      ctx.config.units!,
      { from, to: r.restored! },
      r.restoredPaths,
      r.removedPaths,
    );
    this.units = new UnitRun(ctx.config.units!, { activate: plan.activate, deactivate: [] }, this.unitHost());
    this.report.units = this.units.report;
    this.units.writeFile();
  }
}
