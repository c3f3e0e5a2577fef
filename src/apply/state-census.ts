/**
 * What the lock's first look found in the state folder (state-prefetch.ts): its backups and
 * manifest files, as recovery leaves them. Under the lock nothing but this deploy changes them
 * (and the commands it runs there: a session drops its census when one runs), so the clean-up
 * prunes from it instead of listing them again: over SSH the two listings and the backups'
 * lstats were two waits in a row after the state, before the first removal. Only what the look
 * answered counts; any doubt, and the clean-up lists as before.
 */
import type { Peeked } from '../transport/transport.js';
import type { Layout } from './layout.js';
import { echoFileName, isBackupName } from './state-folder.js';

export interface StateCensus {
  /** The complete backups, seen as real folders (only those are ever removed). */
  backups: readonly string[];
  /** The names seen in the manifests folder. */
  manifests: readonly string[];
}

/**
 * The census in what the looks at the state folder saw, once a recovery that found no journal
 * has run (journal.ts `recover`): it removed the incomplete backups, and the manifest files but
 * the `recorded` one and its echo. null when the looks did not answer all of it.
 */
export function censusOf(
  seen: ReadonlyMap<string, Peeked>,
  l: Layout,
  recorded: string | null,
): StateCensus | null {
  const backups = names(seen.get(l.backups));
  const manifests = names(seen.get(l.manifests));
  if (backups === null || manifests === null) return null;
  const found: string[] = [];
  for (const name of backups.filter(isBackupName)) {
    const dir = seen.get(l.backupFor(name));
    const listing = seen.get(l.backupListing(name));
    if (dir === undefined || listing === undefined) return null;
    if (dir.entry?.type === 'dir' && listing.entry?.type === 'file') found.push(name);
  }
  const kept = recorded === null ? [] : [recorded, echoFileName(recorded)];
  return { backups: found, manifests: manifests.filter((name) => kept.includes(name)) };
}

/** A folder's names as seen: none when absent, null when not listed (or not a folder). */
function names(p: Peeked | undefined): readonly string[] | null {
  if (p === undefined) return null;
  if (p.entry === null) return [];
  return p.entry.type === 'dir' && p.names ? p.names : null;
}
