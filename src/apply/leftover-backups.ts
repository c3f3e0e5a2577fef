/**
 * Backups no run will use, found as a deploy or a rollback opens (journal.ts `recover`): a
 * folder without its listing (its run stopped while taking it), and a complete backup of a
 * deploy that never committed. That one is left by a run cut off between its listing's rename
 * and its journal's (one chained turn over SSH; two steps where the listing is too big to
 * chain). It undoes nothing (its previous state is the one still recorded), yet it counted
 * among the backups kept, and a rollback that finds no backup of the recorded deploy takes the
 * newest one: this, undoing nothing while saying it did.
 */
import type { Transport } from '../transport/transport.js';
import type { Layout } from './layout.js';
import { backupsOnTarget, readBackup } from './backup.js';

export interface LeftoverBackups {
  /** Every complete backup, newest first (`uncommitted` among them). */
  complete: string[];
  /** Folders without their listing. */
  incomplete: string[];
  /** Complete backups of deploys that never committed, taken over the recorded state. */
  uncommitted: string[];
}

/**
 * `recorded`: the recorded state's deploy id (null: no state), or undefined when the state
 * could not be read (then no complete backup is judged). Listed before the state is awaited:
 * over SSH both questions go in one round trip.
 */
export async function leftoverBackups(
  t: Transport,
  l: Layout,
  recorded: Promise<string | null | undefined>,
): Promise<LeftoverBackups> {
  const { complete, incomplete } = await backupsOnTarget(t, l);
  const id = await recorded;
  if (id === undefined) return { complete, incomplete, uncommitted: [] };
  // Deploy ids sort by time: only a backup newer than the recorded deploy can be of one that
  // never committed, so most runs read nothing more. (One named by a client whose clock runs
  // behind sorts earlier: it stays, as it did before.) A later deploy's backup that a named
  // rollback left newer than the state it recorded has another previous state: it stays too.
  const newer = complete.filter((name) => id === null || name > id);
  const listings = await Promise.all(newer.map((name) => readBackup(t, l, name).catch(() => null)));
  const uncommitted = newer.filter((_, i) => {
    const m = listings[i];
    // A listing that cannot be read is not vouched for: kept, as every backup was before.
    return m !== null && m !== undefined && (m.previousState?.deployId ?? null) === id;
  });
  return { complete, incomplete, uncommitted };
}
