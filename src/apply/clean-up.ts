import { describeError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Transport } from '../transport/transport.js';
import { KEEP_BACKUPS, pruneBackups } from './backup.js';
import type { Layout } from './layout.js';
import { pruneManifests } from './manifest-store.js';
import type { TargetState } from './state.js';
import type { TargetPlan } from '../plan/types.js';
import type { FileStat } from '../plan/manifest-types.js';
import type { EchoSeed } from '../observe/walk-echo.js';
import { writeEcho } from './walk-echo-file.js';
import type { StateCensus } from './state-census.js';

/**
 * After a deploy's state is recorded: drop its journal and staging, and the backups and
 * manifests no longer kept. Four places apart, cleaned at once (over SSH their first records
 * share one round trip); all of it ends before the caller releases the lock. A failure is
 * told, never thrown: the release `to` is in place, the next run finishes the cleanup. The
 * previous manifest lives on in this deploy's backup (a hard link) while a rollback may need it.
 * `census`: what the lock's first look saw of the backups and manifests (state-census.ts), and
 * the deploy whose backup was made since: they are pruned without being listed again.
 */
export async function cleanUp(
  t: Transport,
  l: Layout,
  log: Logger,
  to: string,
  newState: TargetState,
  /** The deploy's walk, left as the next one's echo beside the new manifest (walk-echo-file.ts). */
  echo?: {
    plan: Pick<TargetPlan, 'writes' | 'deletes'>;
    seed: EchoSeed;
    stats: ReadonlyMap<string, FileStat>;
  },
  census?: { seen: StateCensus; made: string } | null,
): Promise<void> {
  const ref = newState.manifestFile;
  const [journal, ...rest] = await Promise.allSettled([
    t.unlink(l.journal),
    t.removeTree(l.staging),
    pruneBackups(
      t,
      l,
      KEEP_BACKUPS,
      census ? { complete: census.seen.backups, made: census.made } : undefined,
    ),
    pruneManifests(t, l, ref ? [ref.file] : [], census?.seen.manifests),
    echo && ref && writeEcho(t, l, ref, echo.plan, echo.seed, echo.stats),
  ]);
  if (journal?.status === 'rejected')
    log.warn(
      `${t.description}: release ${to.slice(0, 12)} is in place and recorded, but its journal could not be removed (${describeError(journal.reason)}); the next run drops it`,
    );
  const failed = rest.find((r) => r.status === 'rejected');
  if (failed)
    log.warn(
      `${t.description}: release ${to.slice(0, 12)} is in place; cleaning up after it failed (${describeError(failed.reason)}); the next run finishes it`,
    );
}
