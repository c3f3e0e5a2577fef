/**
 * The wave loop of a rollout: preflight, the rollout- and wave-level controls
 * (hooks, bake, min-healthy), up to `max-parallel` targets at once inside a
 * wave, `max-failures`, and `rollback: all`. Knows nothing of how a target is
 * deployed (run-target.ts) or how the rollout starts and reports (rollout.ts).
 */
import { mapLimit } from '../pool.js';
import { preflight, type PreflightFailure } from './preflight.js';
import type { EarlyPreflight } from './early-preflight.js';
import type { TargetRun } from './run-target.js';
import type { TargetRunContext } from './target-steps.js';
import { isFailure } from './stop.js';
import type { WaveControls } from './wave-controls.js';
import { maxFailuresReached } from './waves.js';

export interface WavesOutcome {
  failed: number;
  /** Why the rollout stopped other than max-failures (a refusal, preflight, a hook, a bake). */
  stopped: string | null;
  /** Targets that ran, in the order they finished. */
  done: TargetRun[];
}

export async function runWaves(
  runs: TargetRun[][],
  ctx: TargetRunContext,
  controls: WaveControls,
  selectedCount: number,
  /** Preflight started with the release checks (early-preflight.ts), if it was. */
  early?: EarlyPreflight,
): Promise<WavesOutcome> {
  const { config, command, signal, emit } = ctx;
  const done: TargetRun[] = [];
  let failed = 0;
  let stopped: string | null = controls.refused;
  if (stopped !== null) emit({ type: 'halt', reason: stopped });
  let halted = stopped !== null;
  // Waited for even when it is no longer needed: no read of a target outlives the rollout.
  const preflighted = early?.outcome();
  if (!halted && command === 'deploy' && config.preflight !== false && !signal.aborted) {
    failed = await stopOnPreflight(runs.flat(), ctx, preflighted);
    if (failed > 0) [halted, stopped] = [true, 'preflight failed'];
  } else await preflighted;
  if (!halted && !(await controls.beforeRollout(signal))) [halted, stopped] = [true, 'before-rollout failed'];
  for (const [w, wave] of runs.entries()) {
    if (halted || signal.aborted) break;
    stopped = await controls.beforeWave(w, signal);
    if (stopped !== null) {
      halted = true;
      emit({ type: 'halt', reason: stopped });
      break;
    }
    emit({ type: 'wave-start', wave: w, targets: wave.map((r) => r.target.name) });
    await mapLimit(wave, config.maxParallel, async (run) => {
      if (signal.aborted || halted) return;
      const report = await run.run();
      done.push(run);
      emit({ type: 'target-end', target: report });
      if (isFailure(report.status, command)) {
        failed++;
        if (maxFailuresReached(failed, selectedCount, config.maxFailures)) halted = true;
      }
    });
    emit({ type: 'wave-end', wave: w });
    // Targets undone by a cancellation are not why the rollout stops: say so only for real failures.
    if (halted && !signal.aborted)
      emit({ type: 'halt', reason: `${failed} target(s) failed, past max-failures` });
    const after = await controls.afterWave(w, wave, failed, signal);
    failed += after.bakeFailed;
    if (after.halt !== null && !halted) {
      [halted, stopped] = [true, after.halt];
      emit({ type: 'halt', reason: after.halt });
    }
  }
  // rollback: all — undo every target this rollout changed, newest first.
  if (command === 'deploy' && config.rollback === 'all' && (failed > 0 || signal.aborted)) {
    for (const run of [...done].reverse())
      // A target whose failed unit went back by itself still holds the rest of the release.
      if (run.report.status === 'deployed' || run.report.heldBack?.length) await run.undo();
  }
  const result = signal.aborted ? 'cancelled' : failed > 0 || halted ? 'failed' : 'succeeded';
  const deployed = done.filter((r) => r.report.status === 'deployed').length;
  await controls.afterRollout(result, failed, deployed);
  return { failed, stopped, done };
}

/**
 * Preflight every selected target; on failures mark them failed (step `preflight`) and the
 * others not started, say why, and return how many failed (0: go ahead).
 */
async function stopOnPreflight(
  runs: TargetRun[],
  ctx: TargetRunContext,
  started?: Promise<Map<string, PreflightFailure>>,
): Promise<number> {
  const failures =
    (await started) ??
    (await preflight(
      runs.map((r) => r.target),
      ctx,
    ));
  if (failures.size === 0) return 0;
  const names = [...failures.keys()];
  for (const run of runs) {
    const failure = failures.get(run.target.name);
    if (failure === undefined) {
      run.report.error = `not started: preflight failed on ${names.join(', ')}`;
      continue;
    }
    const reason = failure.reason;
    run.report.status = 'failed';
    run.report.error = `preflight: ${reason}`;
    if (failure.code) run.report.errorCode = failure.code;
    if (failure.changes) run.report.changes = failure.changes;
    if (failure.driftChecked) run.report.driftChecked = failure.driftChecked;
    if (failure.from !== undefined) run.report.from = failure.from;
    run.report.steps.push({ name: 'preflight', status: 'failed', durationMs: 0, detail: reason });
    ctx.log.error(`preflight: ${run.target.name}: ${reason}`);
    ctx.emit({ type: 'target-end', target: run.report });
  }
  ctx.emit({
    type: 'halt',
    reason: `preflight failed on ${names.join(', ')}: nothing was written (--skip-preflight to go ahead anyway)`,
  });
  return failures.size;
}
