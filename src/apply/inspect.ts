/**
 * `diffship status`: what a target holds, read-only. Drift here is checked over
 * every file of the recorded release (plus kept files), since the question is
 * "is this host still what we shipped?", not just "what will the next deploy touch?".
 */
import { driftAmong } from '../plan/drift.js';
import { observeRecorded } from './observe-drift.js';
import type { Transport } from '../transport/transport.js';
import { connectReadOnly } from './absent-root.js';
import { listBackups } from './backup.js';
import { readJournal } from './journal.js';
import { layout } from './layout.js';
import { readLock, staleReason, type LockInfo } from './lock.js';
import { readState, type TargetState } from './state.js';

export interface TargetStatusInfo {
  name: string;
  release: string | null;
  previousRelease: string | null;
  deployedAt: string | null;
  deployId: string | null;
  mode: string | null;
  /** Files of the recorded release whose bytes differ on the target (or are gone): every file, whatever drift-scope says. */
  drift: string[];
  /** The config's drift-scope: which of these a plan or deploy would check and act on. */
  driftScope?: 'changes' | 'all';
  kept: number;
  lock: (LockInfo & { stale: string | null }) | null;
  backups: string[];
  /** An interrupted deploy that the next run will finish or undo. */
  interrupted: boolean;
  error: string | null;
}

export interface InspectOptions {
  repo: string;
  stateDir: string;
  source?: string;
  include?: readonly string[];
  exclude?: readonly string[];
  driftScope?: 'changes' | 'all';
}

export async function inspectTarget(
  name: string,
  target: Transport,
  o: InspectOptions,
): Promise<TargetStatusInfo> {
  const l = layout(o.stateDir);
  // A target folder not created yet holds nothing: "no release recorded", not an error.
  const { transport: t } = await connectReadOnly(target);
  try {
    const state: TargetState | null = await readState(t, l);
    const lock = await readLock(t, l);
    const drift: string[] = [];
    if (state) {
      // The selection the release was shipped with, when recorded: drift is about what was shipped.
      const selection = state.selection ?? o;
      const { expected, observed } = await observeRecorded(t, null, {
        repo: o.repo,
        release: state.release,
        source: selection.source,
        include: selection.include,
        exclude: selection.exclude,
        kept: state.kept,
      });
      for (const d of driftAmong(expected, observed)) drift.push(d.path);
    }
    return {
      name,
      release: state?.release ?? null,
      previousRelease: state?.previousRelease ?? null,
      deployedAt: state?.deployedAt ?? null,
      deployId: state?.deployId ?? null,
      mode: state?.mode ?? null,
      drift,
      driftScope: o.driftScope ?? 'changes',
      kept: state?.kept.length ?? 0,
      lock: lock ? { ...lock, stale: staleReason(lock) } : null,
      backups: await listBackups(t, l),
      interrupted: (await readJournal(t, l)) !== null,
      error: null,
    };
  } finally {
    await t.close();
  }
}
