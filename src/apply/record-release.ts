/**
 * A deploy's commit, step 5: the manifest of the files now in place, then the state that names
 * it (its deployId tells recovery the deploy finished; the journal goes after it).
 */
import type { Transport } from '../transport/transport.js';
import type { FileStat } from '../plan/manifest-types.js';
import type { Layout } from './layout.js';
import type { NextManifest } from './manifest-patch.js';
import { recordManifestFile } from './manifest-store.js';
import { statePublish, writeState, type TargetState } from './state.js';

/**
 * Locally the manifest and the state are fsynced together (in parallel) before the state's
 * rename. Over SSH a synced write costs no round trip of its own (a separate sync would), and
 * the state goes to the host right behind a patched manifest, chained to it: one wait for both.
 * `keepStats` gets the written files' stats as the manifest records them (walk-echo-file.ts);
 * `written`, those stats taken with the renames (rename-staged.ts), its folders made then too.
 */
export async function recordRelease(
  t: Transport,
  l: Layout,
  deployId: string,
  manifest: NextManifest | null,
  newState: TargetState,
  concurrency: number,
  o: { keepStats?: Map<string, FileStat>; written?: ReadonlyMap<string, FileStat | null> | null } = {},
): Promise<void> {
  const batched = t.kind === 'local';
  const thenState = batched ? undefined : () => statePublish(l, newState);
  const stateToo =
    manifest !== null &&
    (await recordManifestFile(t, l, deployId, manifest, newState, concurrency, {
      sync: !batched,
      keepStats: o.keepStats,
      thenState,
      written: o.written,
      foldersMade: true,
    }));
  if (!stateToo) await writeState(t, l, newState, { withPending: batched });
}
