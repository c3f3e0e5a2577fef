/**
 * Per-unit hooks (docs/units.md): `deactivate` for the units a release deletes
 * (dependents first, before their files go), then `activate` + `verify` for each
 * changed unit in dependency order. When a unit fails, the target's files go
 * back (the rollout's rollback) and every unit already activated — the failed
 * one included — is activated again on its old files and verified, in the same
 * order; units never reached are left alone, the server never loaded them.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CheckSpec, UnitsConfig } from '../config/types.js';
import { expandPlaceholders, type PlaceholderContext } from '../config/placeholders.js';
import type { StepName, UnitReport } from '../report/types.js';
import type { Transport } from '../transport/transport.js';
import type { UnitChange, UnitsPlan } from '../units/plan-units.js';
import { runChecks } from './checks/index.js';
import { runHook } from './hooks.js';

/** What a unit run needs from its target run. */
export interface UnitHost {
  step(
    name: StepName,
    fn: () => Promise<string | { ok: boolean; detail: string }>,
    unit: string,
  ): Promise<boolean>;
  placeholders(): PlaceholderContext;
  env(): Record<string, string>;
  transport(): Pick<Transport, 'exec'> | undefined;
  /** A unit's `run` is about to run on this machine (TargetSession.commandRan). */
  commandRan(): void;
  expandCheck(check: CheckSpec, ph: PlaceholderContext): CheckSpec;
  host(): string;
  cwd: string;
  workDir: string;
  target: string;
}

export class UnitRun {
  readonly report: UnitReport[];
  /** The `DIFFSHIP_UNITS` file on this machine. */
  readonly file: string;
  private activated: UnitReport[] = [];
  private deactivated: UnitReport[] = [];

  constructor(
    private readonly config: UnitsConfig,
    readonly plan: UnitsPlan,
    private readonly host: UnitHost,
  ) {
    const row = (u: UnitChange): UnitReport => ({ ...u, result: 'planned' });
    this.report = [...plan.deactivate.map(row), ...plan.activate.map(row)];
    this.file = join(host.workDir, `${host.target}.units.json`);
  }

  /** Write `DIFFSHIP_UNITS`: the changed units with their files, in hook order. */
  writeFile(): void {
    const { activate, deactivate } = this.plan;
    writeFileSync(this.file, JSON.stringify({ target: this.host.target, deactivate, activate }, null, 2));
  }

  private unitCtx(u: UnitReport): PlaceholderContext {
    return {
      ...this.host.placeholders(),
      units: true,
      unit: { name: u.name, path: u.path, status: u.status },
    };
  }

  private unitEnv(u: UnitReport): Record<string, string> {
    return {
      ...this.host.env(),
      DIFFSHIP_UNITS: this.file,
      DIFFSHIP_UNIT: u.name,
      DIFFSHIP_UNIT_PATH: u.path,
      DIFFSHIP_UNIT_STATUS: u.status,
    };
  }

  private async hook(name: 'activate' | 'deactivate', u: UnitReport, signal: AbortSignal): Promise<boolean> {
    const hook = this.config[name];
    if (!hook) return true;
    const ph = this.unitCtx(u);
    if (hook.run !== undefined) this.host.commandRan();
    return this.host.step(
      name,
      () =>
        runHook(hook, {
          name: `${name} ${u.name}`,
          run: hook.run === undefined ? undefined : expandPlaceholders(hook.run, ph),
          remote: hook.remote === undefined ? undefined : expandPlaceholders(hook.remote, ph),
          cwd: this.host.cwd,
          env: this.unitEnv(u),
          transport: this.host.transport(),
          signal,
        }),
      u.name,
    );
  }

  private async verify(u: UnitReport, signal: AbortSignal): Promise<boolean> {
    if (this.config.verify.length === 0) return true;
    const ph = this.unitCtx(u);
    return this.host.step(
      'verify',
      async () => {
        const r = await runChecks(
          this.config.verify.map((c) => this.host.expandCheck(c, ph)),
          {
            host: this.host.host(),
            transport: this.host.transport(),
            cwd: this.host.cwd,
            env: this.unitEnv(u),
            signal,
          },
        );
        return { ok: r.ok, detail: r.detail };
      },
      u.name,
    );
  }

  /** Before apply: deactivate the deleted units, dependents first. On a failure, reactivate those done. */
  async deactivateAll(signal: AbortSignal, cleanup: AbortSignal): Promise<boolean> {
    for (const u of this.report.filter((r) => r.status === 'deleted')) {
      if (signal.aborted || !(await this.hook('deactivate', u, signal))) {
        u.result = 'failed';
        for (const done of this.deactivated.reverse()) {
          if (await this.hook('activate', done, cleanup)) done.result = 'planned';
        }
        this.skipRest();
        return false;
      }
      u.result = 'deactivated';
      this.deactivated.push(u);
    }
    return true;
  }

  /** After apply: activate then verify each changed unit in order; stop at the first failure. */
  async activateAll(signal: AbortSignal): Promise<boolean> {
    for (const u of this.report.filter((r) => r.status !== 'deleted')) {
      this.activated.push(u);
      const ok =
        !signal.aborted && (await this.hook('activate', u, signal)) && (await this.verify(u, signal));
      if (!ok) {
        u.result = 'failed';
        this.skipRest();
        return false;
      }
      u.result = 'activated';
    }
    return true;
  }

  /**
   * After the target's files went back: the units the server loaded in this deploy load
   * their old files again (and deleted units come back), in dependency order, each verified.
   */
  async afterRollback(signal: AbortSignal): Promise<boolean> {
    let all = true;
    const units = [...this.deactivated.reverse(), ...this.activated];
    this.deactivated = [];
    this.activated = [];
    for (const u of units) {
      const failed = u.result === 'failed';
      const ok = (await this.hook('activate', u, signal)) && (await this.verify(u, signal));
      // The failed unit keeps `failed` when its old version does not come back either.
      if (ok) u.result = 'rolled-back';
      else if (!failed) u.result = 'failed';
      all &&= ok;
    }
    return all;
  }

  /**
   * The units a per-unit rollback puts back: the one that failed, and those with files in
   * this deploy that were never reached (the server never loaded them). Null when it does
   * not apply: no unit failed after the apply, or the failed one is a `dependent` (its own
   * files did not change, so the whole deploy goes back).
   */
  heldBack(): UnitReport[] | null {
    const failed = this.report.find((u) => u.result === 'failed');
    if (!failed || failed.status === 'deleted' || failed.status === 'dependent') return null;
    return this.report.filter(
      (u) =>
        u === failed ||
        (u.result === 'skipped' && u.status !== 'deleted' && u.status !== 'dependent' && u.files.length > 0),
    );
  }

  /** After a per-unit rollback: the failed unit loads its previous files again, and is verified. */
  async afterUnitRollback(signal: AbortSignal): Promise<boolean> {
    const failed = this.report.find((u) => u.result === 'failed');
    if (!failed) return true;
    const ok = (await this.hook('activate', failed, signal)) && (await this.verify(failed, signal));
    if (ok) failed.result = 'rolled-back';
    return ok;
  }

  private skipRest(): void {
    for (const r of this.report) if (r.result === 'planned') r.result = 'skipped';
  }
}
