/**
 * The short names of the library (SPEC: `import { diffReleases, plan, deploy } from 'diffship'`):
 * `rollout` with the command filled in, so a script reads like the CLI it mirrors.
 */
import { rollout, type RolloutOptions } from './rollout/rollout.js';
import type { Report } from './report/types.js';

/** Options of `plan`, `deploy` and `rollback`: a rollout's options without `command`. */
export type CommandOptions = Omit<RolloutOptions, 'command'>;

/**
 * What a deploy would do to each target, writing nothing (no lock, no folder
 * created): the report has status `planned` and each target its change set,
 * kept files and drift. Same as `diffship plan`.
 *
 * @example
 * import { loadConfig, plan } from 'diffship';
 * const report = await plan({ config: await loadConfig('diffship.yml'), to: 'v1.4.0' });
 * for (const t of report.targets) console.log(t.name, t.changes.added.length, 'to add');
 */
export function plan(options: CommandOptions): Promise<Report> {
  return rollout({ ...options, command: 'plan' });
}

/**
 * Ship a release to the targets, wave by wave (same as `diffship deploy`).
 * Resolves with the report whether targets failed or not; rejects only for
 * problems found before anything was written (bad ref, unknown target).
 *
 * @example
 * import { deploy, loadConfig } from 'diffship';
 * const report = await deploy({ config: await loadConfig('diffship.yml'), to: 'v1.4.0', targets: 'label:eu' });
 * if (report.status !== 'succeeded') process.exitCode = 1;
 */
export function deploy(options: CommandOptions): Promise<Report> {
  return rollout({ ...options, command: 'deploy' });
}

/**
 * Restore each selected target's previous release from its newest backup
 * (same as `diffship rollback`); `to` is ignored.
 *
 * @example
 * import { loadConfig, rollback } from 'diffship';
 * const report = await rollback({ config: await loadConfig('diffship.yml'), targets: ['soup-a'] });
 */
export function rollback(options: CommandOptions): Promise<Report> {
  return rollout({ ...options, command: 'rollback' });
}
