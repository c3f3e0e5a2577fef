/**
 * What a rollout checks of a whole release before it touches any target: that
 * the selection holds a file (diff/selection.ts) and which symlinks it ships
 * (plan/outside-links.ts). git lists the release (ls-tree) and its records are
 * read as they come: plain files are only counted (listing-count.ts), the rest
 * read as a first deploy's diff (tree-listing.ts, change-records.ts), and only
 * the symlinks are kept: a 500,000-file release costs a count, not 500,000
 * change objects (an update's plan never needs them: it diffs from the recorded release).
 */
import { ChangeRecords } from './change-records.js';
import { ListingCount } from './listing-count.js';
import { listingAsRaw } from './tree-listing.js';
import { rawDiff } from './diff-releases.js';
import type { GitObjects } from './git-objects.js';
import { SUBMODULE_MODE, SYMLINK_MODE, type Change, type DiffOptions } from './types.js';

export interface ReleaseSummary {
  /** Files of the selection (no submodules). */
  files: number;
  /** Its symlinks (`mode` 120000), in no particular order. */
  links: Change[];
}

/** List release `options.to` (from the empty tree) keeping only the summary. */
export async function summarizeRelease(
  objects: GitObjects | null,
  options: Omit<DiffOptions, 'from' | 'renames'>,
): Promise<ReleaseSummary> {
  const summary: ReleaseSummary = { files: 0, links: [] };
  let records: ChangeRecords | undefined;
  const take = () => {
    const changes = records!.changes;
    for (const c of changes) {
      if (c.status === 'deleted' || c.mode === SUBMODULE_MODE) continue;
      summary.files++;
      if (c.mode === SYMLINK_MODE) summary.links.push(c);
    }
    changes.length = 0; // young garbage: never 500,000 objects alive at once
  };
  let count: ListingCount | undefined;
  await rawDiff(
    objects,
    { ...options, from: null, renames: false },
    (c) => {
      records = new ChangeRecords(c);
      // What the count does not take is read as a first deploy's diff (tree-listing.ts).
      const full = listingAsRaw((chunk) => (records!.push(chunk), take()));
      return (count = new ListingCount(c, {
        push: (chunk) => full.push(chunk),
        end: () => (full.end(), records!.end(), take()),
      }));
    },
    false,
    'spooled', // ls-tree (diff-tree from the empty tree holds every pair), through a file (spooled-listing.ts)
  );
  summary.files += count!.counted;
  return summary;
}
