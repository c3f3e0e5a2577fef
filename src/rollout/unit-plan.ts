/**
 * The plan step's part for `units`: which units the plan touches and the order
 * their hooks run in (a cycle or a missing dependency throws before anything is
 * written), and, with `reveal: unit`, which unit folders are built whole beside
 * the live ones and swapped in.
 */
import type { TargetPlan } from '../plan/types.js';
import { planReleaseUnits } from '../units/release.js';
import type { TargetRunContext } from './target-steps.js';
import { UnitRun, type UnitHost } from './unit-hooks.js';

export async function planUnitRun(
  ctx: TargetRunContext,
  p: TargetPlan,
  host: UnitHost,
  /** The target's recorded manifest: the old release's files when its commit is gone. */
  recorded?: ReadonlyArray<{ path: string; blob: string }> | null,
): Promise<{ run: UnitRun; summary: string }> {
  const { config } = ctx;
  const units = config.units!;
  const plan = await planReleaseUnits(
    { repo: ctx.repo, source: config.source, include: config.include, exclude: config.exclude },
    units,
    { from: p.from, to: p.to },
    Array.from(p.writes, (w) => w.path),
    p.deletes.map((d) => d.path),
    recorded,
  );
  const run = new UnitRun(units, plan, host);
  if (units.reveal === 'unit') {
    // Folder units only: a unit that is one file already appears whole with its rename.
    const folder = (u: { path: string; files: string[] }) => u.files.some((f) => f.startsWith(`${u.path}/`));
    p.revealUnits = [
      ...plan.deactivate.filter(folder).map((u) => ({ path: u.path, deleted: true })),
      ...plan.activate
        .filter((u) => u.status !== 'dependent' && folder(u))
        .map((u) => ({ path: u.path, deleted: false })),
    ];
  }
  const names = (list: { name: string }[]) => list.map((u) => u.name).join(' → ') || 'none';
  return { run, summary: `units: deactivate ${names(plan.deactivate)}; activate ${names(plan.activate)}` };
}
