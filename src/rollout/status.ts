/** `status` for the library and the action: inspect the selected targets, read-only, in parallel. */
import type { ResolvedConfig } from '../config/types.js';
import { describeError } from '../errors.js';
import { inspectTarget, type TargetStatusInfo } from '../apply/inspect.js';
import { mapLimit } from '../pool.js';
import { createTransport } from '../transport/factory.js';
import { parseSelectors, selectTargets } from './select.js';

export interface StatusOptions {
  config: ResolvedConfig;
  repo?: string;
  targets?: string | readonly string[];
}

/**
 * What each target holds: release, deploy time, drift, lock, backups. A target
 * that can't be reached is reported with `error` set, not thrown.
 *
 * @example
 * for (const t of await status({ config })) console.log(t.name, t.release, t.drift.length);
 */
export async function status(options: StatusOptions): Promise<TargetStatusInfo[]> {
  const { config } = options;
  const targets = selectTargets(config.targets, parseSelectors(options.targets));
  return mapLimit(targets, config.maxParallel, async (t): Promise<TargetStatusInfo> => {
    try {
      return await inspectTarget(t.name, createTransport(t), {
        repo: options.repo ?? '.',
        stateDir: config.stateDir,
        source: config.source,
        include: config.include,
        exclude: config.exclude,
        driftScope: config.driftScope,
      });
    } catch (error) {
      return {
        name: t.name,
        release: null,
        previousRelease: null,
        deployedAt: null,
        deployId: null,
        mode: null,
        drift: [],
        driftChecked: false,
        note: null,
        kept: 0,
        lock: null,
        lockUnreadable: null,
        backups: [],
        usage: { staging: { count: 0, bytes: 0 }, backups: { count: 0, bytes: 0 } },
        interrupted: false,
        error: describeError(error),
      };
    }
  });
}

export type { TargetStatusInfo };
