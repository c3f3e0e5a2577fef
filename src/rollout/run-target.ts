/**
 * One target through its steps (SPEC §4): lock → plan → before → apply →
 * activate → verify → after → unlock. A failed step fails the target; with
 * `rollback: target` (or `all`) the files go back at once and `activate` runs
 * again so the host reloads the old version. `after` runs whenever `before`
 * ran, also after a failure or a cancellation, so a drained host always
 * returns to service.
 */
import { DiffshipError, describeError } from '../errors.js';
import { maskSecrets } from '../log.js';
import type { TargetReport } from '../report/types.js';
import { TargetSession } from '../apply/session.js';
import type { TargetPlan } from '../plan/types.js';
import { plannedChanges } from '../plan/report-changes.js';
import { blobBytes } from '../diff/blob-bytes.js';
import { describeDriftCheck } from '../plan/drift.js';
import { createTransport } from '../transport/factory.js';
import { describeOutsideLinks } from '../plan/outside-links.js';
import { isObjectId } from '../apply/state-schema.js';
import { TargetRollback } from './target-rollback.js';
import { cleanupSignal, closeOnForce } from './hard-stop.js';
import { planUnitRun } from './unit-plan.js';

export class TargetRun extends TargetRollback {
  /** The plan is preflight's, handed on (kept-plans.ts): the report's plan step says so. */
  private plannedByPreflight = false;

  /** Run the target's steps. Never throws: failures land in the report. */
  async run(): Promise<TargetReport> {
    const { ctx, target } = this;
    this.ctx.emit({ type: 'target-start', target: target.name, wave: this.wave });
    const readOnly = ctx.command === 'plan';
    try {
      const opened = await this.step('lock', async () => {
        this.session = await TargetSession.open({
          // Preflight's connection when it left one (no second handshake), else a new one.
          transport: closeOnForce(ctx.kept?.take(target.name) ?? createTransport(target, ctx.log), ctx.force),
          stateDir: ctx.config.stateDir,
          deployId: ctx.deployId,
          command: ctx.command,
          target: target.name,
          log: ctx.log,
          readOnly,
          objects: ctx.objects,
          idLength: isObjectId(ctx.to) ? ctx.to.length : undefined,
          // Planning and staging stop at a cancellation (the commit and cleanup do not).
          signal: ctx.signal,
          // Preflight's plan, if kept: its folders are looked at behind the lock (no round trip of
          // their own). Not when a local command may change the target before the apply looks at
          // them (a `before` hook's `run`, units' commands); a remote one drops the look itself.
          lookAhead:
            readOnly || target.hooks.before?.run !== undefined || ctx.config.units
              ? undefined
              : ctx.keptPlans?.lookAhead(target.name),
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

      const p = await this.planStep(readOnly);
      // A plan cut short by a cancellation changed nothing: the target was not deployed, not failed.
      if (!p) return this.finish(ctx.signal.aborted ? 'skipped' : 'failed');
      if (readOnly) return this.finish('planned');
      if (p.writes.length === 0 && p.deletes.length === 0) {
        await this.session!.apply(p, ctx.repo);
        return this.finish('unchanged');
      }
      await this.writeChangesFile(p);
      if (ctx.signal.aborted) return this.finish('skipped');

      const cleanup = cleanupSignal(ctx.force);
      // From here `after` always runs: `before` may have drained the host.
      let ok = await this.hook('before', target.hooks.before, ctx.signal);
      if (ok) ok = await this.drain(ctx.signal);
      // `units`: units the release deletes are deactivated while their files are still there.
      if (ok && this.units) ok = await this.units.deactivateAll(ctx.signal, cleanup);
      if (ok && !ctx.signal.aborted) ok = await this.applyAndVerify(p, cleanup);
      if (ctx.signal.aborted) ok = false;
      let status: TargetReport['status'] = ok ? 'deployed' : 'failed';
      if (!ok && this.changed && ctx.config.rollback !== 'none') {
        // `units`: a failed unit goes back by itself when it can; else the whole deploy does.
        const outcome = (await this.rollbackUnitsNow(cleanup)) ?? (await this.rollbackNow(cleanup));
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

  /** The plan step: what the target would get, said in the report. Null when the step failed. */
  private async planStep(readOnly: boolean): Promise<TargetPlan | null> {
    const { ctx, target } = this;
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
            // Iterated: a listing's writes are read by index through a key string (listing-view.ts).
            Array.from(p.writes, (w) => w.blob),
          )
        : 0;
      const changed = p.selectionChanged ? '; selection changed: the whole selection was compared' : '';
      const links = ctx.outsideLinks?.length ? `; warning: ${describeOutsideLinks(ctx.outsideLinks)}` : '';
      const reused = this.plannedByPreflight ? '; planned by preflight' : '';
      const summary = `${p.note ? `${p.note}; ` : ''}${p.writes.length} write(s), ${p.deletes.length} delete(s), ${p.kept.length} kept, ${p.drift.length} drifted (${describeDriftCheck(p.driftChecked)})${changed}${links}${reused}`;
      if (p.blocked) return { ok: false, detail: p.blocked.message };
      if (!ctx.config.units) return summary;
      const units = await planUnitRun(ctx, p, this.unitHost(), this.session!.state?.manifest?.files);
      this.units = units.run;
      this.report.units = units.run.report;
      return `${summary}; ${units.summary}`;
    });
    return planned ? (plan as TargetPlan | null) : null;
  }

  /** apply → activate → verify (node by node on shared storage). False when a step failed. */
  private async applyAndVerify(p: TargetPlan, cleanup: AbortSignal): Promise<boolean> {
    const { ctx, target } = this;
    let ok = await this.step('apply', async () => {
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
    return ok;
  }

  /** The plan step's work. A release neither in the repository nor in a manifest is said in full. */
  private async planTarget(): Promise<TargetPlan> {
    const { ctx } = this;
    // Preflight's plan, when the locked target is still as preflight found it (kept-plans.ts).
    const kept = await ctx.keptPlans?.take(this.target.name, this.session!);
    this.plannedByPreflight = kept !== undefined;
    if (kept) return kept;
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
}
